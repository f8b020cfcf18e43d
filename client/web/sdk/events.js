// A tiny typed event emitter.

/**
 * @template {Record<string, any>} M  map of event name -> payload type
 */
export class Emitter {
  /** @type {Map<keyof M, Set<(payload: any) => void>>} */
  #listeners = new Map();

  /**
   * Subscribe to an event. Returns a function that unsubscribes.
   * @template {keyof M} K
   * @param {K} name
   * @param {(payload: M[K]) => void} fn
   * @returns {() => void}
   */
  on(name, fn) {
    let set = this.#listeners.get(name);
    if (!set) {
      set = new Set();
      this.#listeners.set(name, set);
    }
    set.add(fn);
    return () => this.off(name, fn);
  }

  /**
   * @template {keyof M} K
   * @param {K} name
   * @param {(payload: M[K]) => void} fn
   */
  off(name, fn) {
    this.#listeners.get(name)?.delete(fn);
  }

  /**
   * Subscribe to the next occurrence of an event only.
   * @template {keyof M} K
   * @param {K} name
   * @param {(payload: M[K]) => void} fn
   * @returns {() => void}
   */
  once(name, fn) {
    const off = this.on(name, (payload) => {
      off();
      fn(payload);
    });
    return off;
  }

  /**
   * @template {keyof M} K
   * @param {K} name
   * @param {M[K]} payload
   */
  emit(name, payload) {
    const set = this.#listeners.get(name);
    if (!set) return;
    for (const fn of [...set]) {
      try {
        fn(payload);
      } catch (err) {
        console.error(`hotline: listener for "${String(name)}" threw`, err);
      }
    }
  }

  /** Remove every listener. */
  removeAllListeners() {
    this.#listeners.clear();
  }
}

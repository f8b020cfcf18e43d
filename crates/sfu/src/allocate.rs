//! Sharing one subscriber's download bandwidth across the video it
//! receives. Audio is served first (it is small and matters most); then
//! video in priority order (screen share, the active speaker, the rest)
//! each gets its lowest layer (at a lower frame rate, or none, when even
//! that does not fit), then layers go up in the same order while the
//! estimate has room. Nothing is sent larger than it is shown.

use hotline_proto::LayerReason;

/// Part of the estimate left unallocated when choosing higher layers:
/// estimates wobble, and the measured layer rates lag the encoder.
const HEADROOM: f64 = 0.9;

/// A layer above the one now chosen must fit this much more than its
/// rate, so that an estimate near a boundary does not flip layers to and
/// fro every time it is looked at.
const UPGRADE_MARGIN: f64 = 1.15;

/// One received video track, as the allocator sees it.
#[derive(Debug, Clone)]
pub(crate) struct VideoDemand {
    /// Bit/s of each layer, lowest first; `None` for one not arriving.
    pub layers: Vec<Option<u64>>,
    /// Picture width of each layer, when known.
    pub widths: Vec<Option<u16>>,
    /// The size the subscriber shows it at (device pixels); `None` when
    /// not said (no cap), zero width when not shown.
    pub shown_at: Option<(u32, u32)>,
    /// Bit/s of each layer's base temporal layer alone (a quarter of the
    /// frame rate in L1T3); `None` without temporal layers.
    pub base_layers: Vec<Option<u64>>,
    /// The layer chosen last time.
    pub current: Option<usize>,
    /// Whether it was limited to the base temporal layer last time.
    pub current_base_only: bool,
    /// Whether it may go above `current` now (not soon after the estimate
    /// forced it down: estimates overshoot while they recover, and going
    /// back up into the same wall costs another keyframe each way).
    pub may_go_up: bool,
}

/// The layer to forward for one track, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Decision {
    /// `None` pauses the video.
    pub layer: Option<usize>,
    /// Only the base temporal layer (a lower frame rate).
    pub base_only: bool,
    pub reason: LayerReason,
}

/// What to ask the bandwidth estimator to find: the rate of the next
/// layer up (it pads up to that), and the rate of everything wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Probe {
    pub minimum: u64,
    pub desired: u64,
}

impl Probe {
    /// Whether this differs enough from `before` to tell the estimator:
    /// each rise of the desired rate above the estimate starts a probe, and
    /// measured layer rates wobble all the time.
    pub fn differs_from(&self, before: &Probe) -> bool {
        let far = |a: u64, b: u64| a.abs_diff(b) * 5 > a.max(b);
        far(self.minimum, before.minimum) || far(self.desired, before.desired)
    }
}

/// Chooses a layer for each of `demands`, given in priority order.
/// `estimate` is the subscriber's download estimate (bit/s), `None` when
/// there is none yet (then only sizes limit); `audio` is what its audio
/// takes.
///
/// An estimate below the lowest layers (at their full frame rate) is only
/// believed while the download is `congested` (its receiver reports loss
/// that retransmission does not repair). The delay-based estimate collapses
/// on links that jitter or reorder without being full, and a lower frame
/// rate or no video there would cost far more than it saves.
/// The first video (the most important) and a track with one
/// encoding are never paused for bandwidth: the estimate lags the link by
/// seconds (str0m smooths it over 3 s) and undershoots after a sharp drop,
/// and the pacer sends audio first anyway; and a single encoding has
/// nothing smaller to offer.
pub(crate) fn allocate(
    estimate: Option<u64>,
    congested: bool,
    audio: u64,
    demands: &[VideoDemand],
) -> (Vec<Decision>, Probe) {
    let mut budget = estimate.map(|e| (e as f64 * HEADROOM) as i64 - audio as i64);
    // The lowest layers may use the headroom too: pausing video is worse
    // than running the link full.
    let headroom = estimate.map_or(0, |e| (e as f64 * (1.0 - HEADROOM)) as i64);
    let mut probe = Probe {
        minimum: audio,
        desired: audio,
    };
    let mut decisions: Vec<Decision> = Vec::with_capacity(demands.len());
    // The best layer each may have (size allows, publisher sends).
    let caps: Vec<Option<(usize, LayerReason)>> = demands.iter().map(cap).collect();

    // First every track its lowest layer, in priority order.
    for (demand, cap) in demands.iter().zip(&caps) {
        let Some((top, reason)) = *cap else {
            decisions.push(match demand.shown_at {
                Some((0, _)) | Some((_, 0)) => {
                    // Not shown now, likely shown again soon: keep the
                    // estimator looking for room for it, or the estimate
                    // shrinks to the audio while it is hidden.
                    probe.desired += demand.layers.iter().flatten().max().copied().unwrap_or(0);
                    Decision {
                        layer: None,
                        base_only: false,
                        reason: LayerReason::Hidden,
                    }
                }
                // Nothing arrives yet: keep what was chosen.
                _ => Decision {
                    layer: demand.current.or(Some(0)),
                    base_only: false,
                    reason: LayerReason::Best,
                },
            });
            continue;
        };
        let lowest = lowest_arriving(demand).unwrap_or(top);
        probe.desired += rate(demand, top);
        let cost = cost(demand, lowest);
        let held_at_base =
            !demand.may_go_up && demand.current_base_only && demand.current == Some(lowest);
        let fits = !congested || budget.is_none_or(|b| cost <= b + headroom) && !held_at_base;
        let first = decisions.iter().all(|d| d.layer.is_none());
        // A lower frame rate comes before no video.
        let base = demand.base_layers.get(lowest).copied().flatten();
        let base_cost = base.map(|rate| {
            let kept = demand.current == Some(lowest) && demand.current_base_only;
            (if kept {
                rate as f64
            } else {
                rate as f64 * UPGRADE_MARGIN
            }) as i64
        });
        let base_fits = base_cost.is_some_and(|c| budget.is_none_or(|b| c <= b + headroom));
        let base_only = !fits && (base_fits || (base.is_some() && first));
        let full = fits || (!base_only && (first || demand.layers.len() == 1));
        if full || base_only {
            let taken = if base_only {
                base_cost.unwrap_or(0)
            } else {
                cost
            };
            budget = budget.map(|b| b - taken);
            probe.minimum += rate(demand, lowest);
            decisions.push(Decision {
                layer: Some(lowest),
                base_only,
                reason: if !base_only && lowest == top {
                    reason
                } else {
                    LayerReason::Bandwidth
                },
            });
        } else {
            probe.minimum += base.unwrap_or_else(|| rate(demand, lowest));
            decisions.push(Decision {
                layer: None,
                base_only: false,
                reason: LayerReason::Bandwidth,
            });
            // Later tracks get nothing either: priority is kept.
            budget = Some(-1);
        }
    }

    // Then up, one track at a time, in priority order.
    let mut next_step: Option<u64> = None;
    for ((demand, cap), decision) in demands.iter().zip(&caps).zip(decisions.iter_mut()) {
        let (Some((top, reason)), Some(mut chosen)) = (*cap, decision.layer) else {
            continue;
        };
        if decision.base_only {
            // Not even the full frame rate of the lowest layer fits.
            next_step.get_or_insert(rate(demand, chosen));
            continue;
        }
        for up in chosen + 1..=top {
            if demand.layers[up].is_none() {
                continue;
            }
            if !demand.may_go_up && demand.current.is_none_or(|current| up > current) {
                next_step.get_or_insert(rate(demand, up).saturating_sub(rate(demand, chosen)));
                break;
            }
            // Measured rates are not ordered: a higher layer can arrive
            // slower than a lower one for a while (an encoder ramping up).
            let extra = (cost(demand, up) - cost(demand, chosen)).max(0);
            let more = rate(demand, up).saturating_sub(rate(demand, chosen));
            if budget.is_none_or(|b| extra <= b) {
                budget = budget.map(|b| b - extra);
                probe.minimum += more;
                chosen = up;
            } else {
                next_step.get_or_insert(more);
                break;
            }
        }
        *decision = Decision {
            layer: Some(chosen),
            base_only: false,
            reason: if chosen == top {
                reason
            } else {
                LayerReason::Bandwidth
            },
        };
    }
    probe.minimum += next_step.unwrap_or(0);
    (decisions, probe)
}

/// The best layer a track may have and why: the largest arriving one, or
/// the smallest that is at least as wide as the track is shown. `None`
/// when it is hidden or nothing arrives.
fn cap(demand: &VideoDemand) -> Option<(usize, LayerReason)> {
    let arriving: Vec<usize> = (0..demand.layers.len())
        .filter(|&i| demand.layers[i].is_some())
        .collect();
    let best = *arriving.last()?;
    let Some((width, height)) = demand.shown_at else {
        return Some((best, LayerReason::Best));
    };
    if width == 0 || height == 0 {
        return None;
    }
    let enough = arriving.iter().copied().find(|&i| {
        demand
            .widths
            .get(i)
            .copied()
            .flatten()
            .is_some_and(|w| u32::from(w) >= width)
    });
    match enough {
        Some(i) if i < best => Some((i, LayerReason::Size)),
        _ => Some((best, LayerReason::Best)),
    }
}

fn lowest_arriving(demand: &VideoDemand) -> Option<usize> {
    demand.layers.iter().position(Option::is_some)
}

fn rate(demand: &VideoDemand, layer: usize) -> u64 {
    demand.layers.get(layer).copied().flatten().unwrap_or(0)
}

/// What a layer takes from the budget: its rate, with a margin when it is
/// above the layer now chosen (or when the track is paused).
fn cost(demand: &VideoDemand, layer: usize) -> i64 {
    let rate = rate(demand, layer) as f64;
    let upgrade = demand.current.is_none_or(|current| layer > current);
    (if upgrade { rate * UPGRADE_MARGIN } else { rate }) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    const KBPS: u64 = 1000;

    fn simulcast(current: Option<usize>) -> VideoDemand {
        VideoDemand {
            layers: vec![Some(150 * KBPS), Some(500 * KBPS), Some(1500 * KBPS)],
            widths: vec![Some(320), Some(640), Some(1280)],
            shown_at: None,
            base_layers: vec![None; 3],
            current,
            current_base_only: false,
            may_go_up: true,
        }
    }

    fn layers(decisions: &[Decision]) -> Vec<Option<usize>> {
        decisions.iter().map(|d| d.layer).collect()
    }

    #[test]
    fn without_an_estimate_everyone_gets_the_best_layer() {
        let (d, probe) = allocate(None, true, 0, &[simulcast(None), simulcast(Some(0))]);
        assert_eq!(layers(&d), [Some(2), Some(2)]);
        assert!(d.iter().all(|d| d.reason == LayerReason::Best));
        assert_eq!(probe.desired, 3000 * KBPS);
    }

    #[test]
    fn a_low_estimate_gets_the_low_layer_and_probes_for_the_next() {
        let (d, probe) = allocate(Some(300 * KBPS), true, 40 * KBPS, &[simulcast(Some(2))]);
        assert_eq!(
            d,
            [Decision {
                layer: Some(0),
                base_only: false,
                reason: LayerReason::Bandwidth
            }]
        );
        assert_eq!(probe.minimum, 40 * KBPS + 500 * KBPS);
        assert_eq!(probe.desired, 40 * KBPS + 1500 * KBPS);
    }

    #[test]
    fn the_first_in_priority_order_goes_up_first() {
        // Room for both low layers (2 x 150 k) and one step up: to 500 k
        // with its margin, less the 150 k it already has; 20 k to spare.
        let estimate = ((40 + 2 * 150 + (500 * 115 / 100 - 150) + 20) * KBPS) as f64 / HEADROOM;
        let (d, _) = allocate(
            Some(estimate as u64),
            true,
            40 * KBPS,
            &[simulcast(Some(0)), simulcast(Some(0))],
        );
        assert_eq!(layers(&d), [Some(1), Some(0)]);
    }

    #[test]
    fn a_layer_is_kept_near_its_boundary_and_taken_only_with_margin() {
        // 1.6 Mbit/s after headroom holds the top layer once chosen...
        let estimate = (1600 * KBPS) as f64 / HEADROOM;
        let (d, _) = allocate(Some(estimate as u64), true, 0, &[simulcast(Some(2))]);
        assert_eq!(layers(&d), [Some(2)]);
        // ...but is not enough to move up to it.
        let (d, _) = allocate(Some(estimate as u64), true, 0, &[simulcast(Some(1))]);
        assert_eq!(layers(&d), [Some(1)]);
    }

    #[test]
    fn too_little_for_the_lowest_layer_pauses_all_but_the_first_video_and_single_encodings() {
        let single = VideoDemand {
            layers: vec![Some(800 * KBPS)],
            widths: vec![None],
            shown_at: None,
            base_layers: vec![None],
            current: Some(0),
            current_base_only: false,
            may_go_up: true,
        };
        let (d, _) = allocate(
            Some(100 * KBPS),
            true,
            40 * KBPS,
            &[simulcast(Some(0)), single, simulcast(Some(0))],
        );
        assert_eq!(layers(&d), [Some(0), Some(0), None]);
        assert_eq!(d[0].reason, LayerReason::Bandwidth);
        assert_eq!(d[2].reason, LayerReason::Bandwidth);
    }

    #[test]
    fn an_estimate_below_the_lowest_layers_is_believed_only_on_a_congested_download() {
        let with_temporal = |current| VideoDemand {
            base_layers: vec![Some(60 * KBPS), Some(200 * KBPS), Some(600 * KBPS)],
            ..simulcast(current)
        };
        let demands = [with_temporal(Some(2)), with_temporal(Some(1))];
        // Not congested: every video its lowest layer at the full frame
        // rate, nothing above.
        let (d, _) = allocate(Some(100 * KBPS), false, 40 * KBPS, &demands);
        assert_eq!(layers(&d), [Some(0), Some(0)]);
        assert!(d
            .iter()
            .all(|d| !d.base_only && d.reason == LayerReason::Bandwidth));
        // Congested: the first at its base frame rate, the other paused.
        let (d, _) = allocate(Some(100 * KBPS), true, 40 * KBPS, &demands);
        assert_eq!(layers(&d), [Some(0), None]);
        assert!(d[0].base_only);
        // Above the lowest layers the estimate rules either way.
        let (d, _) = allocate(Some(1000 * KBPS), false, 40 * KBPS, &demands);
        assert_eq!(layers(&d), [Some(1), Some(0)]);
    }

    #[test]
    fn soon_after_a_forced_step_down_nothing_goes_back_up() {
        let mut held = simulcast(Some(0));
        held.may_go_up = false;
        let (d, probe) = allocate(Some(5000 * KBPS), true, 40 * KBPS, &[held.clone()]);
        assert_eq!(layers(&d), [Some(0)]);
        assert!(
            probe.minimum > 40 * KBPS + 150 * KBPS,
            "still probing for the next: {probe:?}"
        );
        // Down is still allowed.
        held.current = Some(2);
        let (d, _) = allocate(Some(300 * KBPS), true, 40 * KBPS, &[held]);
        assert_eq!(layers(&d), [Some(0)]);
    }

    #[test]
    fn a_lower_frame_rate_comes_before_no_video() {
        // L1T3: the base layer is about a quarter of each layer's rate.
        let with_temporal = |current| VideoDemand {
            base_layers: vec![Some(40 * KBPS), Some(130 * KBPS), Some(400 * KBPS)],
            ..simulcast(current)
        };
        // 60 k after audio: not the 150 k of the lowest layer, but its base
        // (40 k, 46 k with the margin of a change); the second gets nothing.
        let (d, probe) = allocate(
            Some(100 * KBPS),
            true,
            40 * KBPS,
            &[with_temporal(Some(0)), with_temporal(Some(0))],
        );
        assert_eq!(
            d[0],
            Decision {
                layer: Some(0),
                base_only: true,
                reason: LayerReason::Bandwidth
            }
        );
        assert_eq!(d[1].layer, None);
        assert!(probe.minimum >= 40 * KBPS + 150 * KBPS, "{probe:?}");
        // A little more: both at the lower frame rate.
        let (d, _) = allocate(
            Some(140 * KBPS),
            true,
            40 * KBPS,
            &[with_temporal(Some(0)), with_temporal(Some(0))],
        );
        assert!(d.iter().all(|d| d.layer == Some(0) && d.base_only), "{d:?}");
        // With room for the full rate of the lowest layer, the full rate.
        let (d, _) = allocate(Some(250 * KBPS), true, 40 * KBPS, &[with_temporal(Some(0))]);
        assert_eq!((d[0].layer, d[0].base_only), (Some(0), false));
    }

    #[test]
    fn size_caps_the_layer_and_hidden_video_is_paused() {
        let mut small = simulcast(Some(2));
        small.shown_at = Some((400, 225));
        let mut hidden = simulcast(Some(2));
        hidden.shown_at = Some((0, 0));
        let mut huge = simulcast(Some(2));
        huge.shown_at = Some((2560, 1440));
        let (d, probe) = allocate(None, true, 0, &[small, hidden, huge]);
        // The hidden one's best layer stays in what the estimator looks for.
        assert_eq!(probe.desired, (500 + 1500 + 1500) * KBPS);
        assert_eq!(
            d,
            [
                Decision {
                    layer: Some(1),
                    base_only: false,
                    reason: LayerReason::Size
                },
                Decision {
                    layer: None,
                    base_only: false,
                    reason: LayerReason::Hidden
                },
                Decision {
                    layer: Some(2),
                    base_only: false,
                    reason: LayerReason::Best
                },
            ]
        );
    }

    #[test]
    fn a_higher_layer_arriving_slower_than_a_lower_one_is_no_problem() {
        // Seen with Chromium ramping up its encoders: f below h for a while.
        let mut ramping = simulcast(Some(0));
        ramping.layers = vec![Some(150 * KBPS), Some(500 * KBPS), Some(200 * KBPS)];
        let (d, probe) = allocate(Some(2000 * KBPS), true, 40 * KBPS, &[ramping.clone()]);
        assert_eq!(layers(&d), [Some(2)]);
        assert!(probe.minimum >= 40 * KBPS + 150 * KBPS, "{probe:?}");
        let (d, _) = allocate(Some(300 * KBPS), true, 40 * KBPS, &[ramping]);
        assert_eq!(layers(&d), [Some(0)]);
    }

    #[test]
    fn any_rates_sizes_and_estimates_give_a_decision_per_track_without_panicking() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for _ in 0..20_000 {
            let demands: Vec<VideoDemand> = (0..rng.random_range(0..5))
                .map(|_| {
                    let n = rng.random_range(0..5);
                    VideoDemand {
                        layers: (0..n)
                            .map(|_| {
                                rng.random_bool(0.8)
                                    .then(|| rng.random_range(0..u64::from(u32::MAX)))
                            })
                            .collect(),
                        widths: (0..rng.random_range(0..6))
                            .map(|_| rng.random_bool(0.7).then(|| rng.random()))
                            .collect(),
                        shown_at: rng.random_bool(0.5).then(|| (rng.random(), rng.random())),
                        base_layers: (0..n)
                            .map(|_| {
                                rng.random_bool(0.5)
                                    .then(|| rng.random_range(0..u64::from(u32::MAX)))
                            })
                            .collect(),
                        current: rng.random_bool(0.7).then(|| rng.random_range(0..6)),
                        current_base_only: rng.random_bool(0.3),
                        may_go_up: rng.random_bool(0.7),
                    }
                })
                .collect();
            let estimate = rng
                .random_bool(0.8)
                .then(|| rng.random_range(0..u64::from(u32::MAX)));
            let (decisions, _) = allocate(estimate, true, rng.random_range(0..1_000_000), &demands);
            assert_eq!(decisions.len(), demands.len());
            for (d, demand) in decisions.iter().zip(&demands) {
                if let Some(layer) = d.layer {
                    assert!(layer < demand.layers.len().max(1) || demand.current == Some(layer));
                }
            }
        }
    }

    #[test]
    fn a_layer_the_publisher_stopped_sending_is_skipped() {
        let mut top_gone = simulcast(Some(2));
        top_gone.layers[2] = None;
        let (d, _) = allocate(None, true, 0, &[top_gone]);
        assert_eq!(layers(&d), [Some(1)]);
        assert_eq!(d[0].reason, LayerReason::Best);
    }
}

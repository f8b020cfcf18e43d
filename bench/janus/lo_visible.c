/*
 * LD_PRELOAD shim for benchmarking Janus on loopback only.
 *
 * Janus (ice.c) and libnice both skip every interface flagged IFF_LOOPBACK
 * when they gather host candidates, so a stock Janus cannot offer
 * 127.0.0.1 however `ice_enforce_list` is set. This shim wraps
 * getifaddrs(3) and clears IFF_LOOPBACK on the entries it returns, so that
 * `ice_enforce_list = "lo"` selects 127.0.0.1. Nothing else changes.
 *
 * Build: cc -shared -fPIC -O2 -o lo_visible.so lo_visible.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stddef.h>

typedef int (*getifaddrs_fn)(struct ifaddrs **);

int getifaddrs(struct ifaddrs **out)
{
    static getifaddrs_fn real = NULL;
    if (real == NULL)
        real = (getifaddrs_fn)dlsym(RTLD_NEXT, "getifaddrs");
    if (real == NULL)
        return -1;
    int rc = real(out);
    if (rc != 0 || out == NULL)
        return rc;
    for (struct ifaddrs *ifa = *out; ifa != NULL; ifa = ifa->ifa_next)
        ifa->ifa_flags &= ~(unsigned int)IFF_LOOPBACK;
    return rc;
}

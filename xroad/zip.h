/*
 * Reading a ZIP from memory with libzip, defensively: every entry is
 * inflated into memory with its size counted while reading (the sizes the
 * ZIP directory claims are not trusted), entry count, per-entry size,
 * total size and compression ratio are capped, and names must be safe
 * relative paths (no "..", no absolute names, no backslashes, no control
 * characters, valid UTF-8) that are unique, also case-insensitively.
 * Nothing is ever written to disk. Private to libxroad.
 */
#ifndef XROAD_ZIP_H
#define XROAD_ZIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "internal.h"
#include "xroad/asic.h"

#define XR__ZIP_NAME_MAX 512 /* bytes of one entry name */

struct xr__zip_entry {
    char *name;    /* raw name, NUL-terminated, owned */
    uint8_t *data; /* uncompressed bytes (+ a NUL), owned; NULL for dirs */
    size_t len;    /* bytes in data */
    bool is_dir;   /* name ends in '/' */
    size_t index;  /* position in the ZIP directory */
};

struct xr__zip {
    struct xr__zip_entry *e; /* owned array */
    size_t n;
};

/* Fill zero fields of *lim with the defaults (asic.h). */
XR_HIDDEN void xr__zip_limits_resolve(struct xr_zip_limits *lim);

/*
 * Read every entry of the ZIP in buf. Errors (err->reason):
 *   asic_not_container     not a ZIP (or an empty one);
 *   too_large              the ZIP, the entry count, an entry or the total
 *                          exceed the caps;
 *   asic_zip_bomb          an entry inflates beyond max_ratio;
 *   asic_unsafe_entry_name a name with "..", "/" first, "\\", a control
 *                          character, an empty component, or not UTF-8;
 *   asic_duplicate_entry   two names equal, also ignoring ASCII case;
 *   asic_encrypted_entry, asic_unsupported_compression, asic_corrupt
 *                          (CRC or structure error while inflating);
 *   out_of_memory.
 * Ownership: *out is caller storage filled with owned entries; release
 * with xr__zip_free() (also after a failure). buf is read during the call.
 * Thread-safety: reentrant.
 */
XR_HIDDEN enum xr_status xr__zip_read(const uint8_t *buf, size_t len,
                                      const struct xr_zip_limits *lim,
                                      struct xr__zip *out,
                                      struct xr_error *err);

XR_HIDDEN void xr__zip_free(struct xr__zip *z);

/*
 * The entry called `name` (not a directory), compared ignoring ASCII case
 * (names are unique that way), or NULL.
 */
XR_HIDDEN const struct xr__zip_entry *xr__zip_find(const struct xr__zip *z,
                                                   const char *name);

#endif

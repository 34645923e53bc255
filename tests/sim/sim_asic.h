/*
 * Shared between sim_asic.c (the signed message log) and sim_asic_http.c
 * (GET /asic, GET /verificationconf). The public part is in sim.h.
 */
#ifndef VAYLA_SIM_ASIC_H
#define VAYLA_SIM_ASIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "asic_forge.h"
#include "sim.h"

#define SIM_ASIC_MAX_RECORDS 2048

/* One logged message. */
struct sim_asic_record {
    char id[XR_TEXT_MAX + 1]; /* xrd:id, the /asic queryId */
    struct xr_id client;      /* the client of the message */
    bool response;
    unsigned long seq; /* names the container in a zip */
    uint8_t *logged;   /* message.xml as logged */
    size_t logged_len;
    struct af_signed sg; /* signature over the message as sent */
    bool stamped;
    uint8_t *container; /* once time-stamped */
    size_t container_len;
};

size_t sim_asic_count(const struct sim_asic *a);
/* Record i, oldest first. Ownership: get0. */
struct sim_asic_record *sim_asic_record_at(struct sim_asic *a, size_t i);
const struct af_trust *sim_asic_trust(const struct sim_asic *a);
/* Time-stamp every record still waiting (one batch). 0 or -1. */
int sim_asic_stamp(struct sim_asic *a);

#endif

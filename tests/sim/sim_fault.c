/*
 * Fault-injection names (docs/simulator.md): parse and format.
 */
#include <stdio.h>
#include <string.h>

#include "sim.h"

struct fault_name {
    const char *name;
    enum sim_fault_kind kind;
    bool takes_arg;
};

static const struct fault_name names[] = {
    {"none", SIM_FAULT_NONE, false},
    {"latency", SIM_FAULT_LATENCY, true},
    {"stall", SIM_FAULT_STALL, false},
    {"drop", SIM_FAULT_DROP, false},
    {"truncate", SIM_FAULT_TRUNCATE, false},
    {"garbage", SIM_FAULT_GARBAGE, false},
    {"oversize", SIM_FAULT_OVERSIZE, false},
    {"bad_request_hash", SIM_FAULT_BAD_REQUEST_HASH, false},
    {"no_request_hash", SIM_FAULT_NO_REQUEST_HASH, false},
    {"alter_header", SIM_FAULT_ALTER_HEADER, true},
    {"http500_fault", SIM_FAULT_HTTP500_FAULT, false},
    {"slow_drip", SIM_FAULT_SLOW_DRIP, true}, /* argument optional */
    {"fault", SIM_FAULT_FAULT_CODE, true},
    {"reorder_header", SIM_FAULT_REORDER_HEADER, false},
    {"protocol_version_ws", SIM_FAULT_VERSION_WS, false},
    {"dvv_header", SIM_FAULT_DVV_HEADER, false},
    {"http_status", SIM_FAULT_HTTP_STATUS, true},
    {"http500_garbage", SIM_FAULT_HTTP500_GARBAGE, false},
    {"close_idle", SIM_FAULT_CLOSE_IDLE, true},
};

static const char *const header_fields[] = {"client", "service", "id", "userId",
                                            "issue"};

static bool code_is_valid(const char *s)
{
    size_t n = 0;

    for (; *s; s++, n++) {
        if (n >= 120)
            return false;
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' || *s == '-' ||
              *s == ':'))
            return false;
    }
    return n > 0;
}

int sim_fault_parse(const char *text, struct sim_fault *out, char *errbuf,
                    size_t errsize)
{
    const char *colon = strchr(text, ':');
    size_t nlen = colon ? (size_t)(colon - text) : strlen(text);
    const char *arg = colon ? colon + 1 : NULL;

    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        long ms;

        if (strlen(names[i].name) != nlen ||
            strncmp(names[i].name, text, nlen) != 0)
            continue;
        if (names[i].kind == SIM_FAULT_SLOW_DRIP && !arg) {
            out->kind = SIM_FAULT_SLOW_DRIP;
            out->drip_bps = SIM_DRIP_BPS_DEFAULT;
            return 0;
        }
        if (names[i].takes_arg != (arg != NULL)) {
            snprintf(errbuf, errsize, "%s %s an argument", names[i].name,
                     names[i].takes_arg ? "needs" : "takes no");
            return -1;
        }
        out->kind = names[i].kind;
        switch (names[i].kind) {
        case SIM_FAULT_CLOSE_IDLE:
        case SIM_FAULT_LATENCY: {
            /* Milliseconds: a latency may be 0, an idle time may not. */
            long min = names[i].kind == SIM_FAULT_CLOSE_IDLE ? 1 : 0;
            if (sim_parse_long(arg, min, 600000, &ms) != 0) {
                snprintf(errbuf, errsize,
                         "%s:MS needs %ld..600000 milliseconds", names[i].name,
                         min);
                return -1;
            }
            out->latency_ms = (unsigned)ms;
            return 0;
        }
        case SIM_FAULT_ALTER_HEADER:
            for (size_t j = 0;
                 j < sizeof(header_fields) / sizeof(header_fields[0]); j++)
                if (!strcmp(arg, header_fields[j])) {
                    sim_strlcpy(out->arg, arg, sizeof(out->arg));
                    return 0;
                }
            snprintf(errbuf, errsize,
                     "alter_header:FIELD needs one of client, service, id, "
                     "userId, issue");
            return -1;
        case SIM_FAULT_FAULT_CODE:
            if (!code_is_valid(arg)) {
                snprintf(errbuf, errsize,
                         "fault:CODE needs a code such as "
                         "Server.ServerProxy.AccessDenied");
                return -1;
            }
            sim_strlcpy(out->arg, arg, sizeof(out->arg));
            return 0;
        case SIM_FAULT_SLOW_DRIP:
            if (sim_parse_long(arg, 1, 1048576, &ms) != 0) {
                snprintf(errbuf, errsize,
                         "slow_drip:BYTES_PER_SECOND needs 1..1048576");
                return -1;
            }
            out->drip_bps = (unsigned)ms;
            return 0;
        case SIM_FAULT_HTTP_STATUS:
            /*
             * Not 200 or 500 (those carry SOAP), not 1xx (interim), and not
             * 204 or 304, which cannot have a body.
             */
            if (sim_parse_long(arg, 201, 599, &ms) != 0 || ms == 204 ||
                ms == 304 || ms == 500) {
                snprintf(errbuf, errsize,
                         "http_status:CODE needs 201..599 except 204, 304 "
                         "and 500");
                return -1;
            }
            out->http_status = (unsigned)ms;
            return 0;
        case SIM_FAULT_NONE:
        case SIM_FAULT_STALL:
        case SIM_FAULT_DROP:
        case SIM_FAULT_TRUNCATE:
        case SIM_FAULT_GARBAGE:
        case SIM_FAULT_OVERSIZE:
        case SIM_FAULT_BAD_REQUEST_HASH:
        case SIM_FAULT_NO_REQUEST_HASH:
        case SIM_FAULT_HTTP500_FAULT:
        case SIM_FAULT_REORDER_HEADER:
        case SIM_FAULT_VERSION_WS:
        case SIM_FAULT_DVV_HEADER:
        case SIM_FAULT_HTTP500_GARBAGE:
            return 0;
        }
    }
    snprintf(errbuf, errsize, "unknown fault injection '%.*s'",
             nlen > 40 ? 40 : (int)nlen, text);
    return -1;
}

void sim_fault_format(const struct sim_fault *f, char *buf, size_t size)
{
    const char *name = "none";

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (names[i].kind == f->kind)
            name = names[i].name;
    switch (f->kind) {
    case SIM_FAULT_LATENCY:
    case SIM_FAULT_CLOSE_IDLE:
        snprintf(buf, size, "%s:%u", name, f->latency_ms);
        break;
    case SIM_FAULT_ALTER_HEADER:
    case SIM_FAULT_FAULT_CODE:
        snprintf(buf, size, "%s:%s", name, f->arg);
        break;
    case SIM_FAULT_HTTP_STATUS:
        snprintf(buf, size, "%s:%u", name, f->http_status);
        break;
    case SIM_FAULT_SLOW_DRIP:
        if (f->drip_bps == SIM_DRIP_BPS_DEFAULT)
            snprintf(buf, size, "%s", name);
        else
            snprintf(buf, size, "%s:%u", name, f->drip_bps);
        break;
    case SIM_FAULT_NONE:
    case SIM_FAULT_STALL:
    case SIM_FAULT_DROP:
    case SIM_FAULT_TRUNCATE:
    case SIM_FAULT_GARBAGE:
    case SIM_FAULT_OVERSIZE:
    case SIM_FAULT_BAD_REQUEST_HASH:
    case SIM_FAULT_NO_REQUEST_HASH:
    case SIM_FAULT_HTTP500_FAULT:
    case SIM_FAULT_REORDER_HEADER:
    case SIM_FAULT_VERSION_WS:
    case SIM_FAULT_DVV_HEADER:
    case SIM_FAULT_HTTP500_GARBAGE:
        snprintf(buf, size, "%s", name);
        break;
    }
}

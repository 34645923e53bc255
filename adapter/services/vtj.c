/*
 * VTJkysely: outcome names and predicates (vtj.h). Request building is in
 * vtj_request.c, answer decoding in vtj_decode.c.
 */
#include <stdbool.h>

#include "services/vtj.h"

const char *vtj_outcome_name(enum vtj_outcome outcome)
{
    switch (outcome) {
    case VTJ_OUTCOME_FOUND:
        return "found";
    case VTJ_OUTCOME_UNDER_15:
        return "under_15";
    case VTJ_OUTCOME_NOT_FOUND:
        return "not_found";
    case VTJ_OUTCOME_PASSIVATED:
        return "passivated";
    case VTJ_OUTCOME_DECEASED_NOT_DISCLOSED:
        return "deceased_not_disclosed";
    case VTJ_OUTCOME_NOT_DISCLOSABLE:
        return "not_disclosable";
    case VTJ_OUTCOME_CREDENTIALS_ERROR:
        return "credentials_error";
    case VTJ_OUTCOME_CONFIG_ERROR:
        return "config_error";
    case VTJ_OUTCOME_AUTH_FAILED:
        return "auth_failed";
    case VTJ_OUTCOME_REQUEST_ERROR:
        return "request_error";
    case VTJ_OUTCOME_INTEGRITY_ERROR:
        return "integrity_error";
    case VTJ_OUTCOME_SERVICE_ERROR:
        return "service_error";
    case VTJ_OUTCOME_UNKNOWN_CODE:
        return "unknown_code";
    }
    return "unknown_code";
}

bool vtj_outcome_is_found(enum vtj_outcome outcome)
{
    switch (outcome) {
    case VTJ_OUTCOME_FOUND:
    case VTJ_OUTCOME_UNDER_15:
        return true;
    case VTJ_OUTCOME_NOT_FOUND:
    case VTJ_OUTCOME_PASSIVATED:
    case VTJ_OUTCOME_DECEASED_NOT_DISCLOSED:
    case VTJ_OUTCOME_NOT_DISCLOSABLE:
    case VTJ_OUTCOME_CREDENTIALS_ERROR:
    case VTJ_OUTCOME_CONFIG_ERROR:
    case VTJ_OUTCOME_AUTH_FAILED:
    case VTJ_OUTCOME_REQUEST_ERROR:
    case VTJ_OUTCOME_INTEGRITY_ERROR:
    case VTJ_OUTCOME_SERVICE_ERROR:
    case VTJ_OUTCOME_UNKNOWN_CODE:
        return false;
    }
    return false;
}

bool vtj_outcome_is_error(enum vtj_outcome outcome)
{
    switch (outcome) {
    case VTJ_OUTCOME_FOUND:
    case VTJ_OUTCOME_UNDER_15:
    case VTJ_OUTCOME_NOT_FOUND:
    case VTJ_OUTCOME_PASSIVATED:
    case VTJ_OUTCOME_DECEASED_NOT_DISCLOSED:
    case VTJ_OUTCOME_NOT_DISCLOSABLE:
        return false;
    case VTJ_OUTCOME_CREDENTIALS_ERROR:
    case VTJ_OUTCOME_CONFIG_ERROR:
    case VTJ_OUTCOME_AUTH_FAILED:
    case VTJ_OUTCOME_REQUEST_ERROR:
    case VTJ_OUTCOME_INTEGRITY_ERROR:
    case VTJ_OUTCOME_SERVICE_ERROR:
    case VTJ_OUTCOME_UNKNOWN_CODE:
        return true;
    }
    return true;
}

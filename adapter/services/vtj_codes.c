/*
 * VTJ return codes (docs/vtj.md §4): the table of the codes VTJ
 * documents, with the outcome, warning and retry rule of each, and the
 * classification helpers vtj_decode() applies to a code.
 */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "services/vtj_internal.h"

static const struct code_map code_table[] = {
    {"0000", VTJ_OUTCOME_FOUND, NULL, false},
    {"0001", VTJ_OUTCOME_NOT_FOUND, NULL, false},
    {"0002", VTJ_OUTCOME_PASSIVATED, NULL, false},
    {"0003", VTJ_OUTCOME_CREDENTIALS_ERROR, "password_rejected", false},
    {"0004", VTJ_OUTCOME_CREDENTIALS_ERROR, "username_rejected", false},
    {"0005", VTJ_OUTCOME_REQUEST_ERROR, NULL, false},
    {"0006", VTJ_OUTCOME_NOT_FOUND, NULL, false},
    {"0007", VTJ_OUTCOME_DECEASED_NOT_DISCLOSED, NULL, false},
    {"0008", VTJ_OUTCOME_FOUND, "crl_check_not_performed", false},
    {"0009", VTJ_OUTCOME_FOUND, "validity_check_not_performed", false},
    {"0010", VTJ_OUTCOME_CONFIG_ERROR, "identification_method_mismatch", false},
    {"0011", VTJ_OUTCOME_CONFIG_ERROR, "identification_method_mismatch", false},
    {"0012", VTJ_OUTCOME_AUTH_FAILED, "certificate_expired", false},
    {"0013", VTJ_OUTCOME_AUTH_FAILED, "certificate_revoked", false},
    {"0014", VTJ_OUTCOME_AUTH_FAILED, "not_a_certificate", false},
    {"0015", VTJ_OUTCOME_AUTH_FAILED, "certificate_not_accepted", false},
    {"0016", VTJ_OUTCOME_INTEGRITY_ERROR, NULL, false},
    {"0017", VTJ_OUTCOME_NOT_FOUND, "no_guardianship_register_data", false},
    {"0018", VTJ_OUTCOME_UNDER_15, NULL, false},
    {"0019", VTJ_OUTCOME_NOT_DISCLOSABLE, NULL, false},
    {"-1500", VTJ_OUTCOME_CREDENTIALS_ERROR, NULL, false},
    {"-1505", VTJ_OUTCOME_CONFIG_ERROR, "billing_information_error", false},
    {"-1800", VTJ_OUTCOME_SERVICE_ERROR, NULL, true},
    {"-1805", VTJ_OUTCOME_REQUEST_ERROR, "schema_validation_failed", false},
    {"-1900", VTJ_OUTCOME_CONFIG_ERROR, "product_not_found", false},
    {"-1901", VTJ_OUTCOME_CONFIG_ERROR, "product_not_found", false},
    {"-1902", VTJ_OUTCOME_REQUEST_ERROR, "invalid_characters", false},
    {"-1903", VTJ_OUTCOME_REQUEST_ERROR, "invalid_characters", false},
    {"-1904", VTJ_OUTCOME_REQUEST_ERROR, "missing_end_user", false},
    {"-1905", VTJ_OUTCOME_SERVICE_ERROR, "billing_error", false},
    {"-1906", VTJ_OUTCOME_SERVICE_ERROR, "unexpected_error", false},
};

const struct code_map *vtj__code_lookup(const char *code)
{
    for (size_t i = 0; i < sizeof(code_table) / sizeof(code_table[0]); i++)
        if (strcmp(code_table[i].code, code) == 0)
            return &code_table[i];
    return NULL;
}

/* Return codes are short ASCII; anything else is kept only in this form. */
#define RETURN_CODE_MAX 32u

void vtj__sanitize_code(char *code)
{
    size_t i;

    for (i = 0; code[i] && i < RETURN_CODE_MAX; i++) {
        unsigned char ch = (unsigned char)code[i];
        if (ch < 0x21u || ch >= 0x7Fu)
            code[i] = '?';
    }
    code[i] = '\0';
}

bool vtj__outcome_has_person(enum vtj_outcome o)
{
    switch (o) {
    case VTJ_OUTCOME_FOUND:
    case VTJ_OUTCOME_UNDER_15:
    case VTJ_OUTCOME_PASSIVATED:
    case VTJ_OUTCOME_DECEASED_NOT_DISCLOSED:
        return true;
    case VTJ_OUTCOME_NOT_FOUND:
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

void vtj__apply_code(struct vtj_result *r, const struct code_map *m)
{
    if (m) {
        r->outcome = m->outcome;
        r->retryable = m->retryable;
    } else {
        r->outcome = VTJ_OUTCOME_UNKNOWN_CODE;
        r->retryable = false;
    }
}

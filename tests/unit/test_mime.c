/*
 * Multipart/related (SOAP with attachments and MTOM) through the public
 * API: xr_request_parse keeps and hashes only the SOAP part, and
 * xr_response_check / xr_response_parse find the SOAP part first and
 * expose every other part as an attachment.
 */
#include "test_helpers.h"

#define BOUNDARY "MIME_boundary-42"
#define CT_SWA                                                   \
    "multipart/related; type=\"text/xml\"; boundary=\"" BOUNDARY \
    "\"; start=\"<soap@x>\"; charset=UTF-8"
#define CT_MTOM                                                \
    "Multipart/Related; start-info=\"application/soap+xml\"; " \
    "type=\"application/xop+xml\"; boundary=\"" BOUNDARY "\";charset=UTF-8"

static const uint8_t binary_att[] = {0x00, 0x01, 0xff, '-',  '-',  'M', 'I',
                                     'M',  'E',  '\r', '\n', 0x00, '-', '-'};

/* A SwA body with CRLF line ends: SOAP part + text + binary attachment. */
static char *swa_body(const char *soap, size_t soap_len, const char *soap_ct,
                      size_t *len)
{
    struct xrt_buf b = {0};

    xrt_buf_adds(&b, "This is a preamble.\r\n");
    xrt_buf_adds(&b, "--" BOUNDARY "\r\n");
    xrt_buf_addf(&b, "Content-Type: %s\r\n", soap_ct);
    xrt_buf_adds(&b, "Content-Transfer-Encoding: 8bit\r\n"
                     "Content-ID: <soap@x>\r\n\r\n");
    xrt_buf_addn(&b, soap, soap_len);
    xrt_buf_adds(&b, "\r\n--" BOUNDARY "\r\n");
    xrt_buf_adds(&b, "Content-Type: text/plain; charset=UTF-8\r\n"
                     "Content-ID: <att1@example.org>\r\n\r\n");
    xrt_buf_adds(&b, "hello attachment");
    xrt_buf_adds(&b, "\r\n--" BOUNDARY "\r\n");
    xrt_buf_adds(&b, "content-type: application/octet-stream\r\n"
                     "content-id: <bin@example.org>\r\n"
                     "Content-Transfer-Encoding: binary\r\n\r\n");
    xrt_buf_addn(&b, binary_att, sizeof(binary_att));
    xrt_buf_adds(&b, "\r\n--" BOUNDARY "--\r\nepilogue\r\n");
    *len = b.len;
    return b.p;
}

static void test_swa_response(void **state)
{
    struct xr_request *req = xrt_std_request();
    struct xrt_msg m;
    struct xr_response *resp = NULL;
    struct xr_error err;
    const struct xr_part *p;
    size_t soap_len, len;
    char *soap, *body;

    (void)state;
    xrt_msg_echo(&m, req, true);
    soap = xrt_msg_render(&m, &soap_len);
    body = swa_body(soap, soap_len, "text/xml; charset=UTF-8", &len);
    XRT_ASSERT_OK(xr_response_check(req, CT_SWA, (const uint8_t *)body, len,
                                    NULL, &resp, &err),
                  err);
    assert_int_equal(xr_response_verdict(resp), XR_VERDICT_OK);
    /* The SOAP part: exactly its body, the CRLF before the delimiter
     * belongs to the delimiter. */
    assert_int_equal(xr_response_soap(resp).len, soap_len);
    assert_memory_equal(xr_response_soap(resp).ptr, soap, soap_len);
    /* Attachments in order, Content-ID without <>, exact bytes. */
    assert_int_equal(xr_response_part_count(resp), 2);
    p = xr_response_part(resp, 0);
    assert_non_null(p);
    assert_non_null(strstr(p->content_type, "text/plain"));
    assert_string_equal(p->content_id, "att1@example.org");
    assert_int_equal(p->data.len, strlen("hello attachment"));
    assert_memory_equal(p->data.ptr, "hello attachment", p->data.len);
    p = xr_response_part(resp, 1);
    assert_non_null(p);
    assert_string_equal(p->content_type, "application/octet-stream");
    assert_string_equal(p->content_id, "bin@example.org");
    assert_int_equal(p->data.len, sizeof(binary_att));
    assert_memory_equal(p->data.ptr, binary_att, sizeof(binary_att));
    assert_null(xr_response_part(resp, 2));
    xr_response_free(resp);

    /* xr_response_parse sees the same structure. */
    XRT_ASSERT_OK(xr_response_parse(CT_SWA, (const uint8_t *)body, len, NULL,
                                    &resp, &err),
                  err);
    assert_int_equal(xr_response_part_count(resp), 2);
    xr_response_free(resp);
    free(body);
    free(soap);
    xr_request_free(req);
}

static void test_lf_only_and_unquoted_boundary(void **state)
{
    struct xr_request *req = xrt_std_request();
    struct xrt_msg m;
    struct xr_response *resp = NULL;
    struct xr_error err;
    struct xrt_buf b = {0};
    size_t soap_len;
    char *soap;

    (void)state;
    xrt_msg_echo(&m, req, true);
    soap = xrt_msg_render(&m, &soap_len);
    xrt_buf_adds(&b, "--" BOUNDARY "\nContent-Type: text/xml\n\n");
    xrt_buf_addn(&b, soap, soap_len);
    xrt_buf_adds(&b, "\n--" BOUNDARY
                     "\nContent-Type: text/plain\n\nabc\n--" BOUNDARY "--\n");
    XRT_ASSERT_OK(
        xr_response_check(req, "multipart/related; boundary=" BOUNDARY,
                          (const uint8_t *)b.p, b.len, NULL, &resp, &err),
        err);
    assert_int_equal(xr_response_part_count(resp), 1);
    assert_string_equal(xr_response_part(resp, 0)->content_id, "");
    assert_int_equal(xr_response_part(resp, 0)->data.len, 3);
    assert_memory_equal(xr_response_part(resp, 0)->data.ptr, "abc", 3);
    xr_response_free(resp);
    xrt_buf_free(&b);
    free(soap);
    xr_request_free(req);
}

static void test_mtom_response(void **state)
{
    struct xr_request *req = xrt_std_request();
    struct xrt_msg m;
    struct xr_response *resp = NULL;
    struct xr_error err;
    struct xrt_buf b = {0};
    size_t soap_len;
    char *soap;

    (void)state;
    xrt_msg_echo(&m, req, true);
    snprintf(
        m.body, sizeof(m.body),
        "<vtj:" XRT_SERVICE_CODE "Response xmlns:vtj=\"" XRT_NS_BODY
        "\"><xop:Include xmlns:xop=\"http://www.w3.org/2004/08/xop/"
        "include\" href=\"cid:data-1@example.org\"/></vtj:" XRT_SERVICE_CODE
        "Response>");
    soap = xrt_msg_render(&m, &soap_len);
    xrt_buf_adds(&b, "--" BOUNDARY "\r\n");
    xrt_buf_adds(&b, "Content-Type: application/xop+xml; "
                     "type=\"application/soap+xml\"; charset=utf-8\r\n"
                     "Content-ID: <root>\r\n\r\n");
    xrt_buf_addn(&b, soap, soap_len);
    xrt_buf_adds(&b, "\r\n--" BOUNDARY "\r\n");
    xrt_buf_adds(&b, "Content-Type: application/pdf\r\n"
                     "Content-ID: <data-1@example.org>\r\n\r\n%PDF-1.4\r\n");
    xrt_buf_adds(&b, "\r\n--" BOUNDARY "--\r\n");
    XRT_ASSERT_OK(xr_response_check(req, CT_MTOM, (const uint8_t *)b.p, b.len,
                                    NULL, &resp, &err),
                  err);
    assert_int_equal(xr_response_part_count(resp), 1);
    assert_string_equal(xr_response_part(resp, 0)->content_id,
                        "data-1@example.org");
    assert_int_equal(xr_response_part(resp, 0)->data.len, 10);
    assert_memory_equal(xr_response_part(resp, 0)->data.ptr, "%PDF-1.4\r\n",
                        10);
    assert_int_equal(xr_response_soap(resp).len, soap_len);
    xr_response_free(resp);
    xrt_buf_free(&b);
    free(soap);
    xr_request_free(req);
}

static void test_multipart_request_hash_covers_soap_part(void **state)
{
    struct xr_request *built = xrt_std_request();
    struct xr_request *req = NULL;
    struct xr_response *resp = NULL;
    struct xr_error err;
    struct xrt_msg m;
    struct xr_bytes sent = xr_request_bytes(built);
    size_t len;
    char *body;
    char want[89], got[XR_HASH_B64_MAX + 1];

    (void)state;
    /* The built request, sent as the first part of a SwA message. */
    body = swa_body((const char *)sent.ptr, sent.len,
                    "text/xml; charset=\"utf-8\"", &len);
    XRT_ASSERT_OK(
        xr_request_parse(CT_SWA, (const uint8_t *)body, len, NULL, &req, &err),
        err);
    assert_int_equal(xr_request_bytes(req).len, sent.len);
    assert_memory_equal(xr_request_bytes(req).ptr, sent.ptr, sent.len);
    xrt_sha512_b64(sent.ptr, sent.len, want);
    xr_request_hash(req, got, sizeof(got));
    assert_string_equal(got, want);
    assert_string_equal(xr_request_header(req)->id, XRT_MSG_ID);

    /* A response whose requestHash covers the SOAP part passes. */
    xrt_msg_echo(&m, req, true);
    XRT_ASSERT_OK(xrt_check_msg(req, &m, NULL, &resp, &err), err);
    xr_response_free(resp);

    /* A hash over the whole multipart body does not. */
    xrt_sha512_b64(body, len, want);
    xrt_hash_xml(m.request_hash, sizeof(m.request_hash), XR_HASH_ALGO_URI,
                 want);
    XRT_ASSERT_REASON(xrt_check_msg(req, &m, NULL, &resp, &err), err,
                      "request_hash_mismatch");

    xr_request_free(req);
    free(body);
    xr_request_free(built);
}

static void test_fault_in_multipart(void **state)
{
    struct xr_request *req = xrt_std_request();
    struct xr_response *resp = NULL;
    struct xr_error err;
    const char *soap =
        "<SOAP-ENV:Envelope xmlns:SOAP-ENV=\"" XR_NS_SOAP11 "\">"
        "<SOAP-ENV:Body><SOAP-ENV:Fault><faultcode>soap:Server</faultcode>"
        "<faultstring>Error</faultstring><detail><e>payload</e></detail>"
        "</SOAP-ENV:Fault></SOAP-ENV:Body></SOAP-ENV:Envelope>";
    size_t len;
    char *body = swa_body(soap, strlen(soap), "text/xml", &len);

    (void)state;
    XRT_ASSERT_OK(xr_response_check(req, CT_SWA, (const uint8_t *)body, len,
                                    NULL, &resp, &err),
                  err);
    assert_int_equal(xr_response_verdict(resp), XR_VERDICT_FAULT);
    assert_string_equal(xr_response_fault(resp)->code, "soap:Server");
    assert_string_equal(xr_response_fault(resp)->detail, "payload");
    assert_int_equal(xr_response_fault(resp)->origin, XR_ORIGIN_SERVICE);
    xr_response_free(resp);
    free(body);
    xr_request_free(req);
}

static void test_missing_close_delimiter_tolerated(void **state)
{
    struct xr_request *req = xrt_std_request();
    struct xrt_msg m;
    struct xr_response *resp = NULL;
    struct xr_error err;
    struct xrt_buf b = {0};
    size_t soap_len;
    char *soap;

    (void)state;
    /* Like soapfault-mtom.answer upstream: no closing delimiter. */
    xrt_msg_echo(&m, req, true);
    soap = xrt_msg_render(&m, &soap_len);
    xrt_buf_adds(&b, "--" BOUNDARY "\r\nContent-Type: text/xml\r\n\r\n");
    xrt_buf_addn(&b, soap, soap_len);
    xrt_buf_adds(&b, "\r\n--" BOUNDARY);
    XRT_ASSERT_OK(xr_response_check(req, CT_SWA, (const uint8_t *)b.p, b.len,
                                    NULL, &resp, &err),
                  err);
    assert_int_equal(xr_response_part_count(resp), 0);
    assert_int_equal(xr_response_soap(resp).len, soap_len);
    xr_response_free(resp);
    xrt_buf_free(&b);
    free(soap);
    xr_request_free(req);
}

/* Run a multipart body through both parsers; expect a reason. */
static void expect_both_fail_at(const char *ct, const char *body,
                                const char *reason, int line)
{
    struct xr_request *req = NULL;
    struct xr_response *resp = NULL;
    struct xr_error err;

    xrt_assert_reason_at(xr_request_parse(ct, (const uint8_t *)body,
                                          strlen(body), NULL, &req, &err),
                         &err, reason, __FILE__, line);
    assert_null(req);
    xrt_assert_reason_at(xr_response_parse(ct, (const uint8_t *)body,
                                           strlen(body), NULL, &resp, &err),
                         &err, reason, __FILE__, line);
    assert_null(resp);
}

#define EXPECT_BOTH_FAIL(ct, body, reason) \
    expect_both_fail_at((ct), (body), (reason), __LINE__)

static void test_mime_errors(void **state)
{
    struct xr_request *req = NULL;
    struct xr_error err;

    (void)state;
    /* Boundary absent from the body. */
    EXPECT_BOTH_FAIL("multipart/related; boundary=nothere",
                     "--other\r\nContent-Type: text/xml\r\n\r\n<a/>\r\n"
                     "--other--\r\n",
                     "mime_parsing_failed");
    /* Part headers never end. */
    EXPECT_BOTH_FAIL("multipart/related; boundary=b",
                     "--b\r\nContent-Type: text/xml\r\n",
                     "mime_parsing_failed");
    /* A header line without a colon. */
    EXPECT_BOTH_FAIL("multipart/related; boundary=b",
                     "--b\r\nthis is not a header\r\n\r\n<a/>\r\n--b--\r\n",
                     "mime_parsing_failed");
    /* First part is not SOAP. */
    EXPECT_BOTH_FAIL("multipart/related; boundary=b",
                     "--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
                     "--b--\r\n",
                     "invalid_content_type");
    EXPECT_BOTH_FAIL("multipart/related; boundary=b",
                     "--b\r\nContent-Type: multipart/mixed; boundary=c\r\n\r\n"
                     "--c\r\nContent-Type: text/xml\r\n\r\n<a/>\r\n--c--\r\n"
                     "\r\n--b--\r\n",
                     "invalid_content_type");
    /* A part without Content-Type. */
    EXPECT_BOTH_FAIL("multipart/related; boundary=b",
                     "--b\r\nContent-ID: <x>\r\n\r\n<a/>\r\n--b--\r\n",
                     "invalid_content_type");
    /* multipart/mixed is not an accepted top-level type. */
    EXPECT_BOTH_FAIL("multipart/mixed; boundary=b",
                     "--b\r\nContent-Type: text/xml\r\n\r\n<a/>\r\n--b--\r\n",
                     "invalid_content_type");
    /* Missing boundary parameter. */
    XRT_ASSERT_REASON_IN(xr_request_parse("multipart/related",
                                          (const uint8_t *)"--b\r\n", 5, NULL,
                                          &req, &err),
                         err, "invalid_content_type", "mime_parsing_failed");
    assert_null(req);
    /* Unterminated quoted parameter. */
    XRT_ASSERT_REASON(xr_request_parse("multipart/related; boundary=\"b",
                                       (const uint8_t *)"--b\r\n", 5, NULL,
                                       &req, &err),
                      err, "invalid_content_type");
    /* Only a close delimiter: no SOAP part. */
    XRT_ASSERT_REASON_IN(
        xr_request_parse("multipart/related; boundary=b",
                         (const uint8_t *)"--b--\r\n", 7, NULL, &req, &err),
        err, "mime_parsing_failed", "missing_soap", "invalid_soap");
    assert_null(req);
}

static void test_empty_parts(void **state)
{
    struct xr_response *resp = NULL;
    struct xr_request *req = NULL;
    struct xr_error err;
    static const char fault[] =
        "<SOAP-ENV:Envelope xmlns:SOAP-ENV=\"" XR_NS_SOAP11 "\">"
        "<SOAP-ENV:Body><SOAP-ENV:Fault><faultcode>x</faultcode>"
        "</SOAP-ENV:Fault></SOAP-ENV:Body></SOAP-ENV:Envelope>";
    struct xrt_buf b = {0};

    (void)state;
    /* An empty attachment whose delimiter follows the blank line at once
     * (no CRLF of its own): zero bytes, never a wrapped-around length. */
    xrt_buf_adds(&b, "--b\r\nContent-Type: text/xml\r\n\r\n");
    xrt_buf_adds(&b, fault);
    xrt_buf_adds(&b, "\r\n--b\r\nContent-Type: text/plain\r\n\r\n--b--\r\n");
    XRT_ASSERT_OK(xr_response_parse("multipart/related; boundary=b",
                                    (const uint8_t *)b.p, b.len, NULL, &resp,
                                    &err),
                  err);
    assert_int_equal(xr_response_part_count(resp), 1);
    assert_int_equal(xr_response_part(resp, 0)->data.len, 0);
    xr_response_free(resp);
    resp = NULL;
    xrt_buf_free(&b);

    /* The same with an empty attachment in the canonical form. */
    xrt_buf_adds(&b, "--b\r\nContent-Type: text/xml\r\n\r\n");
    xrt_buf_adds(&b, fault);
    xrt_buf_adds(&b,
                 "\r\n--b\r\nContent-Type: text/plain\r\n\r\n\r\n--b--\r\n");
    XRT_ASSERT_OK(xr_response_parse("multipart/related; boundary=b",
                                    (const uint8_t *)b.p, b.len, NULL, &resp,
                                    &err),
                  err);
    assert_int_equal(xr_response_part(resp, 0)->data.len, 0);
    xr_response_free(resp);
    resp = NULL;
    xrt_buf_free(&b);

    /* An empty SOAP part is "no SOAP", not a size problem. */
    static const char empty_soap[] =
        "--b\r\nContent-Type: text/xml\r\n\r\n--b\r\n"
        "Content-Type: text/plain\r\n\r\nx\r\n--b--\r\n";
    XRT_ASSERT_REASON_IN(xr_response_parse("multipart/related; boundary=b",
                                           (const uint8_t *)empty_soap,
                                           sizeof(empty_soap) - 1, NULL, &resp,
                                           &err),
                         err, "invalid_soap", "malformed_xml", "missing_soap");
    XRT_ASSERT_REASON_IN(xr_request_parse("multipart/related; boundary=b",
                                          (const uint8_t *)empty_soap,
                                          sizeof(empty_soap) - 1, NULL, &req,
                                          &err),
                         err, "invalid_soap", "malformed_xml", "missing_soap");
}

static void test_boundary_lookalikes(void **state)
{
    struct xr_request *req = xrt_std_request();
    struct xrt_msg m;
    struct xr_response *resp = NULL;
    struct xr_error err;
    struct xrt_buf b = {0};
    size_t soap_len;
    char *soap;
    const char *att = "x--" BOUNDARY "\r\n--" BOUNDARY "X\r\n-" BOUNDARY;

    (void)state;
    /* Text that resembles the delimiter but is not one stays data. */
    xrt_msg_echo(&m, req, true);
    soap = xrt_msg_render(&m, &soap_len);
    xrt_buf_adds(&b, "--" BOUNDARY "\r\nContent-Type: text/xml\r\n\r\n");
    xrt_buf_addn(&b, soap, soap_len);
    xrt_buf_adds(&b, "\r\n--" BOUNDARY "\r\nContent-Type: text/plain\r\n\r\n");
    xrt_buf_adds(&b, att);
    xrt_buf_adds(&b, "\r\n--" BOUNDARY "--\r\n");
    XRT_ASSERT_OK(xr_response_check(req, CT_SWA, (const uint8_t *)b.p, b.len,
                                    NULL, &resp, &err),
                  err);
    assert_int_equal(xr_response_part_count(resp), 1);
    assert_int_equal(xr_response_part(resp, 0)->data.len, strlen(att));
    assert_memory_equal(xr_response_part(resp, 0)->data.ptr, att, strlen(att));
    xr_response_free(resp);
    xrt_buf_free(&b);
    free(soap);
    xr_request_free(req);
}

static void test_part_count_limit(void **state)
{
    struct xr_request *req = xrt_std_request();
    struct xrt_msg m;
    struct xr_response *resp = NULL;
    struct xr_error err;
    struct xr_check_opts opts = {0};
    struct xrt_buf b = {0};
    size_t soap_len;
    char *soap;

    (void)state;
    xrt_msg_echo(&m, req, true);
    soap = xrt_msg_render(&m, &soap_len);
    xrt_buf_adds(&b, "--" BOUNDARY "\r\nContent-Type: text/xml\r\n\r\n");
    xrt_buf_addn(&b, soap, soap_len);
    for (int i = 0; i < 4; i++)
        xrt_buf_addf(
            &b, "\r\n--" BOUNDARY "\r\nContent-Type: text/plain\r\n\r\npart %d",
            i);
    xrt_buf_adds(&b, "\r\n--" BOUNDARY "--\r\n");
    /* Five parts in all: a cap of five passes, four does not. */
    opts.limits.max_parts = 5;
    XRT_ASSERT_OK(xr_response_check(req, CT_SWA, (const uint8_t *)b.p, b.len,
                                    &opts, &resp, &err),
                  err);
    assert_int_equal(xr_response_part_count(resp), 4);
    xr_response_free(resp);
    opts.limits.max_parts = 4;
    XRT_ASSERT_REASON(xr_response_check(req, CT_SWA, (const uint8_t *)b.p,
                                        b.len, &opts, &resp, &err),
                      err, "too_large");
    assert_null(resp);
    xrt_buf_free(&b);

    /* The default cap (XR_LIMIT_PARTS_DEFAULT) applies without options. */
    xrt_buf_adds(&b, "--" BOUNDARY "\r\nContent-Type: text/xml\r\n\r\n");
    xrt_buf_addn(&b, soap, soap_len);
    for (unsigned i = 0; i < XR_LIMIT_PARTS_DEFAULT + 5; i++)
        xrt_buf_addf(
            &b, "\r\n--" BOUNDARY "\r\nContent-Type: text/plain\r\n\r\n%u", i);
    xrt_buf_adds(&b, "\r\n--" BOUNDARY "--\r\n");
    XRT_ASSERT_REASON(xr_response_check(req, CT_SWA, (const uint8_t *)b.p,
                                        b.len, NULL, &resp, &err),
                      err, "too_large");
    xrt_buf_free(&b);
    free(soap);
    xr_request_free(req);
}

static void test_hostile_part_headers(void **state)
{
    struct xrt_buf b = {0};
    struct xr_response *resp = NULL;
    struct xr_error err;

    (void)state;
    /* Thousands of header lines. */
    xrt_buf_adds(&b, "--b\r\n");
    xrt_buf_repeat(&b, "X-Junk: 1\r\n", 5000);
    xrt_buf_adds(&b, "Content-Type: text/xml\r\n\r\n<a/>\r\n--b--\r\n");
    XRT_ASSERT_REASON_IN(xr_response_parse("multipart/related; boundary=b",
                                           (const uint8_t *)b.p, b.len, NULL,
                                           &resp, &err),
                         err, "too_large", "mime_parsing_failed");
    xrt_buf_free(&b);
    /* One enormous header line. */
    xrt_buf_adds(&b, "--b\r\nContent-Type: text/xml; x=");
    xrt_buf_repeat(&b, "a", 100000);
    xrt_buf_adds(&b, "\r\n\r\n<a/>\r\n--b--\r\n");
    XRT_ASSERT_REASON_IN(xr_response_parse("multipart/related; boundary=b",
                                           (const uint8_t *)b.p, b.len, NULL,
                                           &resp, &err),
                         err, "too_large", "mime_parsing_failed");
    xrt_buf_free(&b);
    /* A NUL inside part headers. */
    {
        static const char body[] =
            "--b\r\nContent-Type: text/xml\r\nX: a\0b\r\n\r\n<a/>\r\n--b--\r\n";
        XRT_ASSERT_REASON_IN(xr_response_parse("multipart/related; boundary=b",
                                               (const uint8_t *)body,
                                               sizeof(body) - 1, NULL, &resp,
                                               &err),
                             err, "mime_parsing_failed", "too_large");
    }
    /* An over-long boundary parameter. */
    xrt_buf_adds(&b, "multipart/related; boundary=");
    xrt_buf_repeat(&b, "b", 300);
    XRT_ASSERT_REASON_IN(
        xr_response_parse(b.p, (const uint8_t *)"x", 1, NULL, &resp, &err), err,
        "invalid_content_type", "mime_parsing_failed", "too_large");
    assert_null(resp);
    xrt_buf_free(&b);
}

/* xr_mime_write then xr_mime_parse: the same parts, bytes unchanged,
 * the root first with 8bit, the others binary. */
static void test_write_parse_roundtrip(void **state)
{
    struct xr_part in[3];
    struct xr_mime *m = NULL;
    struct xr_error err;
    uint8_t *body = NULL;
    size_t len = 0;
    char ct[XR_MIME_CTYPE_MAX];

    (void)state;
    memset(in, 0, sizeof(in));
    snprintf(in[0].content_type, sizeof(in[0].content_type),
             "text/xml; charset=UTF-8");
    in[0].data.ptr = (const uint8_t *)"<a/>";
    in[0].data.len = 4;
    snprintf(in[1].content_type, sizeof(in[1].content_type),
             "application/octet-stream");
    snprintf(in[1].content_id, sizeof(in[1].content_id), "bin@x");
    in[1].data.ptr = binary_att;
    in[1].data.len = sizeof(binary_att);
    snprintf(in[2].content_type, sizeof(in[2].content_type), "text/plain");
    snprintf(in[2].content_id, sizeof(in[2].content_id), "empty@x");
    XRT_ASSERT_OK(xr_mime_write(in, 3, &body, &len, ct, &err), err);
    assert_non_null(strstr(ct, "multipart/related; type=\"text/xml\""));
    assert_null(strstr(ct, "start-info"));
    assert_non_null(
        strstr((const char *)body, "Content-Transfer-Encoding: 8bit\r\n"));
    XRT_ASSERT_OK(xr_mime_parse(ct, body, len, NULL, &m, &err), err);
    assert_int_equal(xr_mime_count(m), 3);
    for (size_t i = 0; i < 3; i++) {
        const struct xr_part *p = xr_mime_part(m, i);
        assert_string_equal(p->content_type, in[i].content_type);
        assert_string_equal(p->content_id, in[i].content_id);
        assert_int_equal(p->data.len, in[i].data.len);
        if (p->data.len)
            assert_memory_equal(p->data.ptr, in[i].data.ptr, p->data.len);
    }
    assert_null(xr_mime_part(m, 3));
    xr_mime_free(m);
    free(body);
}

/* MTOM: the HTTP type names xop and start-info; a root Content-ID
 * becomes start. */
static void test_write_mtom(void **state)
{
    struct xr_part in[2];
    struct xr_error err;
    uint8_t *body = NULL;
    size_t len = 0;
    char ct[XR_MIME_CTYPE_MAX];

    (void)state;
    memset(in, 0, sizeof(in));
    snprintf(in[0].content_type, sizeof(in[0].content_type),
             "application/xop+xml; charset=UTF-8; type=\"text/xml\"");
    snprintf(in[0].content_id, sizeof(in[0].content_id), "root@x");
    in[0].data.ptr = (const uint8_t *)"<a/>";
    in[0].data.len = 4;
    snprintf(in[1].content_type, sizeof(in[1].content_type), "image/png");
    snprintf(in[1].content_id, sizeof(in[1].content_id), "img@x");
    in[1].data.ptr = (const uint8_t *)"PNG";
    in[1].data.len = 3;
    XRT_ASSERT_OK(xr_mime_write(in, 2, &body, &len, ct, &err), err);
    assert_non_null(strstr(ct, "type=\"application/xop+xml\""));
    assert_non_null(strstr(ct, "start-info=\"text/xml\""));
    assert_non_null(strstr(ct, "start=\"<root@x>\""));
    assert_non_null(strstr((const char *)body, "Content-ID: <img@x>\r\n"));
    free(body);
}

/* What the writer refuses: no parts, header injection, a root that is
 * not XML, ids that would break the <> or the quoted start. */
static void test_write_refuses(void **state)
{
    struct xr_part in[2];
    struct xr_error err;
    uint8_t *body = NULL;
    size_t len = 0;
    char ct[XR_MIME_CTYPE_MAX];

    (void)state;
    memset(in, 0, sizeof(in));
    XRT_ASSERT_REASON(xr_mime_write(in, 0, &body, &len, ct, &err), err,
                      "invalid_part");
    snprintf(in[0].content_type, sizeof(in[0].content_type), "text/xml");
    snprintf(in[1].content_type, sizeof(in[1].content_type),
             "text/plain\r\nX-Injected: 1");
    XRT_ASSERT_REASON(xr_mime_write(in, 2, &body, &len, ct, &err), err,
                      "invalid_part");
    snprintf(in[1].content_type, sizeof(in[1].content_type), "text/plain");
    snprintf(in[1].content_id, sizeof(in[1].content_id), "a>b");
    XRT_ASSERT_REASON(xr_mime_write(in, 2, &body, &len, ct, &err), err,
                      "invalid_part");
    snprintf(in[1].content_id, sizeof(in[1].content_id), "a\"b");
    XRT_ASSERT_REASON(xr_mime_write(in, 2, &body, &len, ct, &err), err,
                      "invalid_part");
    in[1].content_id[0] = '\0';
    in[1].content_type[0] = '\0';
    XRT_ASSERT_REASON(xr_mime_write(in, 2, &body, &len, ct, &err), err,
                      "invalid_part");
    snprintf(in[0].content_type, sizeof(in[0].content_type), "text/plain");
    XRT_ASSERT_REASON(xr_mime_write(in, 1, &body, &len, ct, &err), err,
                      "invalid_part");
    assert_null(body);
}

/* The public reader: only multipart/related; parts with a control byte
 * in Content-Type or Content-ID (it would be passed on) are refused. */
static void test_parse_refuses(void **state)
{
    static const char cr_ct[] = "--b\r\nContent-Type: text/xml\rX: 1\r\n\r\n"
                                "<a/>\r\n--b--\r\n";
    static const char hi_id[] = "--b\r\nContent-Type: text/xml\r\n"
                                "Content-ID: <\xc3\xa4@x>\r\n\r\n"
                                "<a/>\r\n--b--\r\n";
    static const char ok[] =
        "--b\r\nContent-Type: text/xml\r\n"
        "Content-Disposition: attachment; "
        "filename=\"\xc3\xa4.txt\"\r\n\r\n<a/>\r\n--b--\r\n";
    struct xr_mime *m = NULL;
    struct xr_error err;

    (void)state;
    XRT_ASSERT_REASON(
        xr_mime_parse("text/xml", (const uint8_t *)"<a/>", 4, NULL, &m, &err),
        err, "invalid_content_type");
    XRT_ASSERT_REASON(xr_mime_parse("multipart/related", (const uint8_t *)"x",
                                    1, NULL, &m, &err),
                      err, "invalid_content_type");
    XRT_ASSERT_REASON(xr_mime_parse("multipart/related; boundary=b",
                                    (const uint8_t *)cr_ct, sizeof(cr_ct) - 1,
                                    NULL, &m, &err),
                      err, "mime_parsing_failed");
    XRT_ASSERT_REASON(xr_mime_parse("multipart/related; boundary=b",
                                    (const uint8_t *)hi_id, sizeof(hi_id) - 1,
                                    NULL, &m, &err),
                      err, "mime_parsing_failed");
    assert_null(m);
    /* Other headers are not passed on: 8-bit bytes there are accepted. */
    XRT_ASSERT_OK(xr_mime_parse("multipart/related; boundary=b",
                                (const uint8_t *)ok, sizeof(ok) - 1, NULL, &m,
                                &err),
                  err);
    assert_int_equal(xr_mime_count(m), 1);
    xr_mime_free(m);
}

/* The wrapper as a standalone document keeps the namespaces declared on
 * Envelope; the SOAP part's Content-Type is reported. */
static void test_body_xml(void **state)
{
    struct xr_request *req = xrt_std_request();
    struct xrt_msg m;
    struct xr_response *resp = NULL;
    struct xr_error err;
    uint8_t *xml = NULL;
    size_t len = 0, soap_len;
    char *soap;
    xmlDocPtr doc;

    (void)state;
    xrt_msg_echo(&m, req, true);
    snprintf(m.body, sizeof(m.body),
             "<vtj:" XRT_SERVICE_CODE "Response xmlns:vtj=\"" XRT_NS_BODY
             "\"><xrd:inner>t&amp;x</xrd:inner></vtj:" XRT_SERVICE_CODE
             "Response>");
    soap = xrt_msg_render(&m, &soap_len);
    XRT_ASSERT_OK(xr_response_check(req, "text/xml; charset=UTF-8",
                                    (const uint8_t *)soap, soap_len, NULL,
                                    &resp, &err),
                  err);
    assert_string_equal(xr_response_soap_type(resp), "text/xml; charset=UTF-8");
    XRT_ASSERT_OK(xr_response_body_xml(resp, &xml, &len, &err), err);
    doc =
        xmlReadMemory((const char *)xml, (int)len, NULL, NULL, XML_PARSE_NONET);
    assert_non_null(doc);
    assert_string_equal((const char *)xmlDocGetRootElement(doc)->ns->href,
                        XRT_NS_BODY);
    assert_string_equal(
        (const char *)xmlDocGetRootElement(doc)->children->ns->href,
        XR_NS_XROAD);
    xmlFreeDoc(doc);
    free(xml);
    xr_response_free(resp);
    free(soap);
    xr_request_free(req);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_swa_response),
        cmocka_unit_test(test_lf_only_and_unquoted_boundary),
        cmocka_unit_test(test_mtom_response),
        cmocka_unit_test(test_multipart_request_hash_covers_soap_part),
        cmocka_unit_test(test_fault_in_multipart),
        cmocka_unit_test(test_missing_close_delimiter_tolerated),
        cmocka_unit_test(test_mime_errors),
        cmocka_unit_test(test_empty_parts),
        cmocka_unit_test(test_boundary_lookalikes),
        cmocka_unit_test(test_part_count_limit),
        cmocka_unit_test(test_hostile_part_headers),
        cmocka_unit_test(test_write_parse_roundtrip),
        cmocka_unit_test(test_write_mtom),
        cmocka_unit_test(test_write_refuses),
        cmocka_unit_test(test_parse_refuses),
        cmocka_unit_test(test_body_xml),
    };

    xrt_filter_from_env();
    return cmocka_run_group_tests_name("mime", tests, xrt_group_setup,
                                       xrt_group_teardown);
}

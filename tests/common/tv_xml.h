/*
 * Tree helpers shared by the VTJ unit tests, the VTJ fuzz target and the
 * VTJ decode benchmark: finding the element a VTJ answer is decoded from.
 * No cmocka, no project headers: only libxml2.
 *
 * Everything is static inline so each program takes what it uses.
 * Ownership: every node returned is borrowed from the document.
 */
#ifndef TV_XML_H
#define TV_XML_H

#include <string.h>

#include <libxml/tree.h>

#define TV_SOAP_NS "http://schemas.xmlsoap.org/soap/envelope/"

/* n itself or its first following sibling that is an element, or NULL. */
static inline xmlNodePtr tv_first_element(xmlNodePtr n)
{
    for (; n; n = n->next)
        if (n->type == XML_ELEMENT_NODE)
            return n;
    return NULL;
}

/* The first element child of soap:Envelope/soap:Body, or NULL. */
static inline xmlNodePtr tv_body_child(xmlDocPtr doc)
{
    xmlNodePtr root = xmlDocGetRootElement(doc);

    if (!root)
        return NULL;
    for (xmlNodePtr n = root->children; n; n = n->next)
        if (n->type == XML_ELEMENT_NODE && n->ns &&
            !strcmp((const char *)n->ns->href, TV_SOAP_NS) &&
            !strcmp((const char *)n->name, "Body"))
            return tv_first_element(n->children);
    return NULL;
}

/*
 * The element to decode: the Body's element child when the root is a SOAP
 * Envelope, else the root element itself (a bare answer wrapper).
 */
static inline xmlNodePtr tv_wrapper(xmlDocPtr doc)
{
    xmlNodePtr root = xmlDocGetRootElement(doc);

    if (!root || !root->ns || !root->ns->href ||
        strcmp((const char *)root->ns->href, TV_SOAP_NS) != 0)
        return root;
    return tv_body_child(doc);
}

#endif

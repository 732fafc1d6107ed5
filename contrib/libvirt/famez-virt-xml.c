/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/tree.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "famez-virt-xml.h"

#define ID_PREFIX "famez-"
#define CHARDEV_ID "famez-chardev"
#define DEVICE_ID "famez-device"
#define FAM_ID "famez-fam"
#define FAM_DEVICE_ID "famez-fam-device"
#define SHMEM_NAME "famez"

static int fail(char **error, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(char **error, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(error, fmt, ap) < 0)
		*error = NULL;
	va_end(ap);
	return -EINVAL;
}

static void silence(void *ctx, const char *msg, ...)
{
	(void)ctx, (void)msg;
}

/* Parses a domain definition: the document, or NULL with *error set. */
static xmlDocPtr parse_domain(const char *xml, size_t len, char **error)
{
	xmlParserCtxtPtr ctxt;
	xmlDocPtr doc;
	xmlNodePtr root;
	bool well_formed;

	xmlSetGenericErrorFunc(NULL, silence);
	ctxt = xmlNewParserCtxt();
	if (!ctxt) {
		fail(error, "out of memory");
		return NULL;
	}
	doc = xmlCtxtReadMemory(ctxt, xml, (int)len, NULL, NULL,
				XML_PARSE_NONET | XML_PARSE_NOBLANKS | XML_PARSE_NOERROR |
					XML_PARSE_NOWARNING);
	/* Namespaces must be right too: an element of a broken prefix would not be found again. */
	well_formed = doc && ctxt->wellFormed && ctxt->nsWellFormed;
	xmlFreeParserCtxt(ctxt);
	if (!well_formed) {
		const xmlError *e = xmlGetLastError();

		fail(error, "not XML: %s at line %d",
		     e && e->message ? strtok(e->message, "\n") : "cannot parse it",
		     e ? e->line : 0);
		xmlFreeDoc(doc);
		return NULL;
	}
	root = xmlDocGetRootElement(doc);
	if (!root || xmlStrcmp(root->name, BAD_CAST "domain") != 0 || root->ns) {
		fail(error, "not a libvirt domain: the root element is <%s>, not <domain>",
		     root ? (const char *)root->name : "nothing");
		xmlFreeDoc(doc);
		return NULL;
	}
	return doc;
}

/*
 * Drops whitespace-only text between elements, which libvirt's XML never gives a meaning:
 * kept, it would make the output's layout depend on what was there before (a blank <domain>
 * written out inline, then indented once it has children), and injecting twice would differ
 * from injecting once.
 */
static void drop_blank_text(xmlNodePtr node)
{
	bool has_elements = false;

	for (xmlNodePtr c = node->children; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE)
			has_elements = true;
	for (xmlNodePtr c = node->children, next; c; c = next) {
		next = c->next;
		if (has_elements && c->type == XML_TEXT_NODE && xmlIsBlankNode(c)) {
			xmlUnlinkNode(c);
			xmlFreeNode(c);
		} else if (c->type == XML_ELEMENT_NODE)
			drop_blank_text(c);
	}
}

static char *dump(xmlDocPtr doc)
{
	xmlChar *buf = NULL;
	int size = 0;
	char *out;

	drop_blank_text(xmlDocGetRootElement(doc));
	xmlDocDumpFormatMemoryEnc(doc, &buf, &size, "UTF-8", 1);
	if (!buf)
		return NULL;
	out = strndup((const char *)buf, (size_t)size);
	xmlFree(buf);
	return out;
}

static bool is_qemu(xmlNodePtr n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && n->ns && n->ns->href &&
	       xmlStrcmp(n->ns->href, BAD_CAST FAMEZ_VIRT_QEMU_NS) == 0 &&
	       xmlStrcmp(n->name, BAD_CAST name) == 0;
}

static bool is_element(xmlNodePtr n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && !n->ns && xmlStrcmp(n->name, BAD_CAST name) == 0;
}

static xmlNodePtr child(xmlNodePtr parent, const char *name)
{
	for (xmlNodePtr n = parent ? parent->children : NULL; n; n = n->next)
		if (is_element(n, name))
			return n;
	return NULL;
}

/* Whether a QEMU option string ("driver,key=value,...") has id=famez-... */
static bool option_is_ours(const char *value)
{
	for (const char *p = value; p && *p;) {
		if (strncmp(p, "id=" ID_PREFIX, strlen("id=" ID_PREFIX)) == 0)
			return true;
		p = strchr(p, ',');
		if (p)
			p++;
	}
	return false;
}

/* The value of an option ("path", "vectors") in a QEMU option string, into buf. */
static bool option_value(const char *value, const char *key, char *buf, size_t size)
{
	size_t n = strlen(key);

	for (const char *p = value; p && *p;) {
		if (strncmp(p, key, n) == 0 && p[n] == '=') {
			size_t len = 0;

			/* ",," is an escaped comma inside a value. */
			for (p += n + 1; *p && len + 1 < size; p++) {
				if (*p == ',' && p[1] == ',')
					p++;
				else if (*p == ',')
					break;
				buf[len++] = *p;
			}
			buf[len] = '\0';
			return true;
		}
		p = strchr(p, ',');
		while (p && p[1] == ',')
			p = strchr(p + 2, ',');
		if (p)
			p++;
	}
	return false;
}

static char *arg_value(xmlNodePtr arg)
{
	return (char *)xmlGetProp(arg, BAD_CAST "value");
}

/*
 * If n is the flag of a pair of qemu:arg famez adds (-chardev, -device or -object, then an
 * option string with id=famez-...), that option string (xmlFree() it); NULL otherwise. An
 * option string without such a flag before it is the user's: not famez's to report or remove.
 */
static char *our_pair(xmlNodePtr n)
{
	xmlNodePtr next = n->next;
	char *flag, *value;

	if (!is_qemu(n, "arg") || !next || !is_qemu(next, "arg"))
		return NULL;
	flag = arg_value(n);
	value = arg_value(next);
	if (!flag || !value ||
	    (strcmp(flag, "-chardev") && strcmp(flag, "-device") && strcmp(flag, "-object")) ||
	    !option_is_ours(value)) {
		xmlFree(value);
		value = NULL;
	}
	xmlFree(flag);
	return value;
}

/* Removes every flag+value pair of qemu:arg that famez added; returns how many. */
static unsigned remove_commandline_args(xmlNodePtr commandline)
{
	unsigned removed = 0;
	xmlNodePtr n = commandline->children;

	while (n) {
		xmlNodePtr next = n->next;
		char *value = our_pair(n);

		if (value) {
			xmlNodePtr after = next->next;

			xmlUnlinkNode(n);
			xmlFreeNode(n);
			xmlUnlinkNode(next);
			xmlFreeNode(next);
			xmlFree(value);
			removed++;
			next = after;
		}
		n = next;
	}
	return removed;
}

/* Whether anything but blanks is left in n: elements, text, comments the user wrote. */
static bool has_content(xmlNodePtr n)
{
	for (xmlNodePtr c = n->children; c; c = c->next)
		if (c->type != XML_TEXT_NODE || !xmlIsBlankNode(c))
			return true;
	return false;
}

/* Drops <shmem name='famez'> and <shmem name='famez-fam'>. */
static unsigned remove_native(xmlNodePtr root)
{
	xmlNodePtr devices = child(root, "devices");
	unsigned removed = 0;

	for (xmlNodePtr n = devices ? devices->children : NULL, next; n; n = next) {
		xmlChar *name;

		next = n->next;
		if (!is_element(n, "shmem"))
			continue;
		name = xmlGetProp(n, BAD_CAST "name");
		if (name && (xmlStrcmp(name, BAD_CAST SHMEM_NAME) == 0 ||
			     xmlStrcmp(name, BAD_CAST FAM_ID) == 0)) {
			xmlUnlinkNode(n);
			xmlFreeNode(n);
			removed++;
		}
		xmlFree(name);
	}
	return removed;
}

static bool ns_in_use(xmlNodePtr n, xmlNsPtr ns)
{
	for (; n; n = n->next) {
		if (n->type == XML_ELEMENT_NODE) {
			if (n->ns == ns)
				return true;
			for (xmlAttrPtr a = n->properties; a; a = a->next)
				if (a->ns == ns)
					return true;
			if (ns_in_use(n->children, ns))
				return true;
		}
	}
	return false;
}

/* Takes out everything famez added; with `drop_ns`, also a qemu namespace left unused. */
static void remove_ours(xmlNodePtr root, bool drop_ns)
{
	for (xmlNodePtr n = root->children, next; n; n = next) {
		next = n->next;
		if (is_qemu(n, "commandline") && remove_commandline_args(n) > 0 &&
		    !has_content(n)) {
			xmlUnlinkNode(n);
			xmlFreeNode(n);
		}
	}
	remove_native(root);

	if (!drop_ns)
		return;
	for (xmlNsPtr *p = &root->nsDef; *p; p = &(*p)->next)
		if ((*p)->href && xmlStrcmp((*p)->href, BAD_CAST FAMEZ_VIRT_QEMU_NS) == 0 &&
		    !ns_in_use(root, *p)) {
			xmlNsPtr unused = *p;

			*p = unused->next;
			unused->next = NULL;
			xmlFreeNs(unused);
			break;
		}
}

/* The qemu namespace on <domain>, declared as "qemu" if it is not there under any prefix. */
static xmlNsPtr qemu_ns(xmlNodePtr root)
{
	for (xmlNsPtr ns = root->nsDef; ns; ns = ns->next)
		if (ns->href && xmlStrcmp(ns->href, BAD_CAST FAMEZ_VIRT_QEMU_NS) == 0)
			return ns;
	for (xmlNsPtr ns = root->nsDef; ns; ns = ns->next)
		if (ns->prefix && xmlStrcmp(ns->prefix, BAD_CAST "qemu") == 0)
			return xmlNewNs(root, BAD_CAST FAMEZ_VIRT_QEMU_NS, BAD_CAST "famez-qemu");
	return xmlNewNs(root, BAD_CAST FAMEZ_VIRT_QEMU_NS, BAD_CAST "qemu");
}

/* Whether the domain's machine is a q35 (PCIe) one; libvirt's default for x86 is pc. */
static bool machine_is_q35(xmlNodePtr root)
{
	xmlNodePtr type = child(child(root, "os"), "type");
	xmlChar *machine = type ? xmlGetProp(type, BAD_CAST "machine") : NULL;
	bool q35 = machine && strstr((const char *)machine, "q35");

	xmlFree(machine);
	return q35;
}

/* QEMU's option syntax doubles commas inside values. */
static char *escape_commas(const char *s)
{
	char *out = malloc(strlen(s) * 2 + 1), *p = out;

	if (!out)
		return NULL;
	for (; *s; s++) {
		*p++ = *s;
		if (*s == ',')
			*p++ = ',';
	}
	*p = '\0';
	return out;
}

static int add_arg_pair(xmlNodePtr commandline, xmlNsPtr ns, const char *flag, const char *value)
{
	xmlNodePtr a = xmlNewChild(commandline, ns, BAD_CAST "arg", NULL);
	xmlNodePtr b = xmlNewChild(commandline, ns, BAD_CAST "arg", NULL);

	if (!a || !b || !xmlSetProp(a, BAD_CAST "value", BAD_CAST flag) ||
	    !xmlSetProp(b, BAD_CAST "value", BAD_CAST value))
		return -ENOMEM;
	return 0;
}

/*
 * Fixed PCI slots libvirt never gives its own devices, so nothing collides whatever it adds:
 * on pc, the top of pci.0 (it fills from slot 2 up); on q35, slots of pcie.0 it keeps off (its
 * devices go behind root ports at 0x01.., ICH9 functions sit at 0x1a/0x1b/0x1d/0x1e/0x1f).
 */
static void device_address(bool q35, bool fam, const char **bus, const char **addr)
{
	*bus = q35 ? "pcie.0" : "pci.0";
	if (q35)
		*addr = fam ? "0x19" : "0x1c";
	else
		*addr = fam ? "0x1e" : "0x1f";
}

static int add_commandline(xmlNodePtr root, const FamezVirtConfig *c)
{
	xmlNsPtr ns = qemu_ns(root);
	xmlNodePtr commandline;
	bool q35 = machine_is_q35(root);
	const char *bus, *addr;
	char *path, value[8192];
	int r;

	/*
	 * A stanza of our own, never one the user wrote: removing ours then never touches theirs
	 * (libvirt merges the stanzas into one when it stores the domain).
	 */
	commandline = xmlNewChild(root, ns, BAD_CAST "commandline", NULL);
	if (!commandline || !ns)
		return -ENOMEM;

	path = escape_commas(c->socket_path);
	if (!path)
		return -ENOMEM;
	snprintf(value, sizeof(value), "socket,id=" CHARDEV_ID ",path=%s", path);
	free(path);
	r = add_arg_pair(commandline, ns, "-chardev", value);
	device_address(q35, false, &bus, &addr);
	snprintf(value, sizeof(value),
		 "ivshmem-doorbell,id=" DEVICE_ID ",chardev=" CHARDEV_ID
		 ",vectors=%u,bus=%s,addr=%s",
		 c->vectors, bus, addr);
	if (r >= 0)
		r = add_arg_pair(commandline, ns, "-device", value);
	if (r < 0 || !c->fam_path)
		return r;

	path = escape_commas(c->fam_path);
	if (!path)
		return -ENOMEM;
	snprintf(value, sizeof(value),
		 "memory-backend-file,id=" FAM_ID ",mem-path=%s,size=%" PRIu64 ",share=on", path,
		 c->fam_size);
	free(path);
	r = add_arg_pair(commandline, ns, "-object", value);
	device_address(q35, true, &bus, &addr);
	snprintf(value, sizeof(value),
		 "ivshmem-plain,id=" FAM_DEVICE_ID ",memdev=" FAM_ID ",bus=%s,addr=%s", bus, addr);
	if (r >= 0)
		r = add_arg_pair(commandline, ns, "-device", value);
	return r;
}

static int add_native(xmlNodePtr root, const FamezVirtConfig *c)
{
	xmlNodePtr devices = child(root, "devices"), shmem, n;
	char vectors[16];

	if (!devices)
		devices = xmlNewChild(root, NULL, BAD_CAST "devices", NULL);
	shmem = devices ? xmlNewChild(devices, NULL, BAD_CAST "shmem", NULL) : NULL;
	if (!shmem || !xmlSetProp(shmem, BAD_CAST "name", BAD_CAST SHMEM_NAME))
		return -ENOMEM;
	n = xmlNewChild(shmem, NULL, BAD_CAST "model", NULL);
	if (!n || !xmlSetProp(n, BAD_CAST "type", BAD_CAST "ivshmem-doorbell"))
		return -ENOMEM;
	n = xmlNewChild(shmem, NULL, BAD_CAST "server", NULL);
	if (!n || !xmlSetProp(n, BAD_CAST "path", BAD_CAST c->socket_path))
		return -ENOMEM;
	snprintf(vectors, sizeof(vectors), "%u", c->vectors);
	n = xmlNewChild(shmem, NULL, BAD_CAST "msi", NULL);
	if (!n || !xmlSetProp(n, BAD_CAST "vectors", BAD_CAST vectors) ||
	    !xmlSetProp(n, BAD_CAST "ioeventfd", BAD_CAST "on"))
		return -ENOMEM;
	return 0;
}

int famez_virt_inject(const char *xml, size_t len, const FamezVirtConfig *c, char **out,
		      char **error)
{
	xmlDocPtr doc;
	xmlNodePtr root;
	int r;

	*out = NULL;
	*error = NULL;
	if (c->native && c->fam_path)
		return fail(error, "--fam needs the commandline form: libvirt's <shmem> cannot use "
				   "a file; leave out --native");
	doc = parse_domain(xml, len, error);
	if (!doc)
		return -EINVAL;
	root = xmlDocGetRootElement(doc);
	/* Whatever famez added before goes first, so injecting twice is injecting once. */
	remove_ours(root, c->native);
	r = c->native ? add_native(root, c) : add_commandline(root, c);
	if (r >= 0 && !(*out = dump(doc)))
		r = -ENOMEM;
	xmlFreeDoc(doc);
	if (r < 0 && !*error)
		fail(error, "out of memory");
	return r;
}

int famez_virt_remove(const char *xml, size_t len, char **out, char **error)
{
	xmlDocPtr doc;

	*out = NULL;
	*error = NULL;
	doc = parse_domain(xml, len, error);
	if (!doc)
		return -EINVAL;
	remove_ours(xmlDocGetRootElement(doc), true);
	*out = dump(doc);
	xmlFreeDoc(doc);
	return *out ? 0 : fail(error, "out of memory");
}

int famez_virt_inspect(const char *xml, size_t len, FamezVirtInfo *info, char **error)
{
	xmlDocPtr doc;
	xmlNodePtr root, devices;
	char buf[64];

	memset(info, 0, sizeof(*info));
	*error = NULL;
	doc = parse_domain(xml, len, error);
	if (!doc)
		return -EINVAL;
	root = xmlDocGetRootElement(doc);
	for (xmlNodePtr n = root->children; n; n = n->next) {
		if (!is_qemu(n, "commandline"))
			continue;
		for (xmlNodePtr a = n->children; a; a = a->next) {
			char *value = our_pair(a);

			if (value) {
				a = a->next; /* the option string */
				info->attached = true;
				if (strstr(value, "id=" CHARDEV_ID))
					option_value(value, "path", info->socket_path,
						     sizeof(info->socket_path));
				if (strstr(value, "id=" DEVICE_ID) &&
				    option_value(value, "vectors", buf, sizeof(buf)))
					info->vectors = (unsigned)atoi(buf);
				if (strstr(value, "id=" FAM_ID ","))
					info->fam = true;
			}
			xmlFree(value);
		}
	}
	devices = child(root, "devices");
	for (xmlNodePtr n = devices ? devices->children : NULL; n; n = n->next) {
		xmlChar *name = is_element(n, "shmem") ? xmlGetProp(n, BAD_CAST "name") : NULL;

		if (name && xmlStrcmp(name, BAD_CAST SHMEM_NAME) == 0) {
			xmlNodePtr server = child(n, "server"), msi = child(n, "msi");
			xmlChar *v;

			info->attached = info->native = true;
			if (server && (v = xmlGetProp(server, BAD_CAST "path"))) {
				snprintf(info->socket_path, sizeof(info->socket_path), "%s", v);
				xmlFree(v);
			}
			if (msi && (v = xmlGetProp(msi, BAD_CAST "vectors"))) {
				info->vectors = (unsigned)atoi((const char *)v);
				xmlFree(v);
			}
		}
		xmlFree(name);
	}
	xmlFreeDoc(doc);
	return 0;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * famez_bridge: the sysfs attributes under the PCI device (see famez_bridge(4)).
 */

#include <linux/device.h>
#include <linux/string.h>
#include <linux/sysfs.h>

#include "famez_bridge.h"

static ssize_t id_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	struct famez_bridge *b = dev_get_drvdata(dev);

	return sysfs_emit(buf, "%u\n", b->id);
}
static DEVICE_ATTR_RO(id);

static ssize_t server_id_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	struct famez_bridge *b = dev_get_drvdata(dev);

	return sysfs_emit(buf, "%u\n", b->fabric ? b->server_id : 0);
}
static DEVICE_ATTR_RO(server_id);

static ssize_t vectors_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	struct famez_bridge *b = dev_get_drvdata(dev);

	return sysfs_emit(buf, "%u\n", b->n_vectors);
}
static DEVICE_ATTR_RO(vectors);

static ssize_t fabric_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	struct famez_bridge *b = dev_get_drvdata(dev);

	return sysfs_emit(buf, "%d\n", b->fabric);
}
static DEVICE_ATTR_RO(fabric);

/* The interrupts taken on every vector, in vector order, on one line. */
static ssize_t interrupts_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	struct famez_bridge *b = dev_get_drvdata(dev);
	unsigned int i;
	int n = 0;

	for (i = 0; i < b->n_vectors; i++)
		n += sysfs_emit_at(buf, n, "%s%llu", i ? " " : "",
				   (unsigned long long)atomic64_read(&b->vectors[i].count));
	n += sysfs_emit_at(buf, n, "\n");
	return n;
}
static DEVICE_ATTR_RO(interrupts);

static const char *const famez_link_names[] = {
	[FAMEZ_LINK_DOWN] = "down",
	[FAMEZ_LINK_UP] = "up",
	[FAMEZ_LINK_CONFIGURED] = "configured",
};

static ssize_t link_state_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	struct famez_bridge *b = dev_get_drvdata(dev);

	return sysfs_emit(buf, "%s\n", famez_link_names[READ_ONCE(b->link)]);
}
static DEVICE_ATTR_RO(link_state);

#define FAMEZ_U64_ATTR(field)                                                              \
	static ssize_t field##_show(struct device *dev, struct device_attribute *attr,     \
				    char *buf)                                             \
	{                                                                                  \
		struct famez_bridge *b = dev_get_drvdata(dev);                             \
									                   \
		return sysfs_emit(buf, "%llu\n", (unsigned long long)READ_ONCE(b->field)); \
	}                                                                                  \
	static DEVICE_ATTR_RO(field)

FAMEZ_U64_ATTR(cid);
FAMEZ_U64_ATTR(sid);
FAMEZ_U64_ATTR(pfm_cid);
FAMEZ_U64_ATTR(pfm_sid);

#define FAMEZ_COUNTER_ATTR(field)                                                          \
	static ssize_t field##_show(struct device *dev, struct device_attribute *attr,     \
				    char *buf)                                             \
	{                                                                                  \
		struct famez_bridge *b = dev_get_drvdata(dev);                             \
									                   \
		return sysfs_emit(buf, "%lld\n", (long long)atomic64_read(&b->field));     \
	}                                                                                  \
	static DEVICE_ATTR_RO(field)

FAMEZ_COUNTER_ATTR(sent);
FAMEZ_COUNTER_ATTR(received);
FAMEZ_COUNTER_ATTR(dropped);
FAMEZ_COUNTER_ATTR(malformed);
FAMEZ_COUNTER_ATTR(spurious);
FAMEZ_COUNTER_ATTR(send_timeouts);
FAMEZ_COUNTER_ATTR(deferred);
FAMEZ_COUNTER_ATTR(routed);
FAMEZ_COUNTER_ATTR(route_refused);
FAMEZ_COUNTER_ATTR(routed_received);
FAMEZ_COUNTER_ATTR(route_missing);
FAMEZ_COUNTER_ATTR(directed);
FAMEZ_COUNTER_ATTR(directed_received);
FAMEZ_COUNTER_ATTR(control_requests);
FAMEZ_COUNTER_ATTR(control_refused);

/* Printable ASCII, not blank. Not isgraph(): the kernel's also takes Latin-1 bytes 0xa1-0xff. */
static bool famez_graph(char c)
{
	return c > ' ' && c <= '~';
}


/* A name a peer may show: 1 to 31 printable characters, no blanks or ':' (the text API's). */
bool famez_name_ok(const char *name, size_t len)
{
	size_t i;

	if (len == 0 || len >= FAMEZ_NAME_MAX)
		return false;
	for (i = 0; i < len; i++)
		if (!famez_graph(name[i]) || name[i] == ':')
			return false;
	return true;
}


/* Writes one of our names into our slot as well (fabric mode). */
static ssize_t famez_store_name(struct famez_bridge *b, char *name, size_t field,
				const char *buf, size_t count)
{
	size_t len = count && buf[count - 1] == '\n' ? count - 1 : count;

	if (!famez_name_ok(buf, len))
		return -EINVAL;
	if (!famez_enter(b))
		return -ENODEV;
	memcpy(name, buf, len);
	name[len] = '\0';
	if (b->fabric)
		famez_set_string(b, b->id, field, name);
	famez_leave(b);
	return count;
}

/* nodename and cclass: ours, also in our slot; writable. */
#define FAMEZ_NAME_ATTR(field, offset)                                                     \
	static ssize_t field##_show(struct device *dev, struct device_attribute *attr,     \
				    char *buf)                                             \
	{                                                                                  \
		struct famez_bridge *b = dev_get_drvdata(dev);                             \
									                   \
		return sysfs_emit(buf, "%s\n", b->field);                                  \
	}                                                                                  \
	static ssize_t field##_store(struct device *dev, struct device_attribute *attr,    \
				     const char *buf, size_t count)                        \
	{                                                                                  \
		struct famez_bridge *b = dev_get_drvdata(dev);                             \
									                   \
		return famez_store_name(b, b->field, offset, buf, count);                  \
	}                                                                                  \
	static DEVICE_ATTR_RW(field)

FAMEZ_NAME_ATTR(nodename, FAMEZ_S_NODENAME);
FAMEZ_NAME_ATTR(cclass, FAMEZ_S_CCLASS);

/* A name from a peer's slot, as it can be shown: printable, "-" when empty. */
static void famez_peer_string(struct famez_bridge *b, unsigned int id, size_t field,
			      char out[FAMEZ_NAME_MAX])
{
	size_t i;

	memcpy(out, b->shm + famez_slot(id, field), FAMEZ_NAME_MAX);
	out[FAMEZ_NAME_MAX - 1] = '\0';
	for (i = 0; out[i]; i++)
		if (!famez_graph(out[i]))
			out[i] = '?';
	if (!out[0])
		strscpy(out, "-", FAMEZ_NAME_MAX);
}

/* Every slot in use (a nodename in it): "ID nodename C-Class CID SID", one a line. */
static ssize_t peers_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	struct famez_bridge *b = dev_get_drvdata(dev);
	char name[FAMEZ_NAME_MAX], cclass[FAMEZ_NAME_MAX];
	unsigned int id;
	int n = 0;

	if (!b->fabric || !famez_enter(b))
		return 0;
	for (id = 1; id <= b->server_id && n < PAGE_SIZE - 128; id++) {
		if (!READ_ONCE(*(char *)(b->shm + famez_slot(id, FAMEZ_S_NODENAME))))
			continue;
		famez_peer_string(b, id, FAMEZ_S_NODENAME, name);
		famez_peer_string(b, id, FAMEZ_S_CCLASS, cclass);
		n += sysfs_emit_at(buf, n, "%u %s %s %llu %llu\n", id, name, cclass,
				   (unsigned long long)famez_shm_u64(b, famez_slot(id, FAMEZ_S_PEER_CID)),
				   (unsigned long long)famez_shm_u64(b, famez_slot(id, FAMEZ_S_PEER_SID)));
	}
	famez_leave(b);
	return n;
}
static DEVICE_ATTR_RO(peers);

static struct attribute *famez_attrs[] = {
	&dev_attr_link_state.attr,
	&dev_attr_cid.attr,
	&dev_attr_sid.attr,
	&dev_attr_pfm_cid.attr,
	&dev_attr_pfm_sid.attr,
	&dev_attr_sent.attr,
	&dev_attr_received.attr,
	&dev_attr_dropped.attr,
	&dev_attr_malformed.attr,
	&dev_attr_spurious.attr,
	&dev_attr_send_timeouts.attr,
	&dev_attr_deferred.attr,
	&dev_attr_routed.attr,
	&dev_attr_route_refused.attr,
	&dev_attr_routed_received.attr,
	&dev_attr_route_missing.attr,
	&dev_attr_directed.attr,
	&dev_attr_directed_received.attr,
	&dev_attr_control_requests.attr,
	&dev_attr_control_refused.attr,
	&dev_attr_nodename.attr,
	&dev_attr_cclass.attr,
	&dev_attr_peers.attr,
	&dev_attr_id.attr,
	&dev_attr_server_id.attr,
	&dev_attr_vectors.attr,
	&dev_attr_fabric.attr,
	&dev_attr_interrupts.attr,
	NULL,
};

/* ATTRIBUTE_GROUPS(famez), but not static: the PCI driver in famez_pci.c takes them. */
static const struct attribute_group famez_group = {
	.attrs = famez_attrs,
};

/*
 * control/: the control space, one read-only file per structure or table, named as the
 * linux-genz subsystem names them (<structure>@<offset>), each read live.
 */
static ssize_t famez_control_read(struct kobject *kobj, const struct bin_attribute *attr,
				  char *buf, loff_t off, size_t count)
{
	struct famez_bridge *b = dev_get_drvdata(kobj_to_dev(kobj));

	return famez_ctl_read_region(b, (uintptr_t)attr->private, buf, off, count);
}

/*
 * bin_attribute's read() took a struct bin_attribute * until Linux 6.16 or so and a const one
 * since: both are here, and the one that fits is taken.
 */
static ssize_t __maybe_unused famez_control_read_const(struct file *file, struct kobject *kobj,
							const struct bin_attribute *attr,
							char *buf, loff_t off, size_t count)
{
	return famez_control_read(kobj, attr, buf, off, count);
}

static ssize_t __maybe_unused famez_control_read_plain(struct file *file, struct kobject *kobj,
							struct bin_attribute *attr, char *buf,
							loff_t off, size_t count)
{
	return famez_control_read(kobj, attr, buf, off, count);
}

#define FAMEZ_CONTROL_READ                                                                 \
	__builtin_choose_expr(__same_type(((struct bin_attribute *)NULL)->read,           \
					  &famez_control_read_const),                      \
			      famez_control_read_const, famez_control_read_plain)

#define FAMEZ_CONTROL_ATTR(var, name_, region, size_)                                      \
	static struct bin_attribute var = {                                                \
		.attr = { .name = name_, .mode = 0444 },                                   \
		.size = size_,                                                             \
		.read = FAMEZ_CONTROL_READ,                                                \
		.private = (void *)(region),                                               \
	}

FAMEZ_CONTROL_ATTR(famez_core_attr, "core@0x0", FAMEZ_REGION_CORE, FAMEZ_CTL_CORE_SIZE);
FAMEZ_CONTROL_ATTR(famez_cdt_attr, "component_destination_table@0x400", FAMEZ_REGION_CDT,
		   FAMEZ_CTL_CDT_SIZE);
FAMEZ_CONTROL_ATTR(famez_iface_attr, "interface0@0x1000", FAMEZ_REGION_IFACE,
		   FAMEZ_CTL_INTERFACE_SIZE);
FAMEZ_CONTROL_ATTR(famez_ssdt_attr, "ssdt@0x40000", FAMEZ_REGION_SSDT,
		   FAMEZ_CTL_ENTRIES * FAMEZ_CTL_ENTRY_SIZE);
FAMEZ_CONTROL_ATTR(famez_msdt_attr, "msdt@0x80000", FAMEZ_REGION_MSDT,
		   FAMEZ_CTL_ENTRIES * FAMEZ_CTL_ENTRY_SIZE);

static struct bin_attribute *famez_control_attrs[] = {
	&famez_core_attr, &famez_cdt_attr, &famez_iface_attr, &famez_ssdt_attr, &famez_msdt_attr,
	NULL,
};

static const struct attribute_group famez_control_group = {
	.name = "control",
	/* A void * fits bin_attrs whether it is const (later kernels) or not (6.1). */
	.bin_attrs = (void *)famez_control_attrs,
};

const struct attribute_group *famez_groups[] = {
	&famez_group,
	&famez_control_group,
	NULL,
};

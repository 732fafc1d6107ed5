// SPDX-License-Identifier: GPL-2.0
/*
 * famez_bridge: the character device /dev/famez_bridge_XX, one per bridge. read() and write()
 * of the text API, poll(), mmap() of the shared memory and the ioctls of
 * include/uapi/linux/famez_bridge.h.
 */

#include <linux/eventfd.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/poll.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/version.h>

#include "famez_bridge.h"

static struct famez_bridge *famez_of_file(struct file *file)
{
	struct miscdevice *misc = file->private_data;

	return container_of(misc, struct famez_bridge, misc);
}

/* Replaces what vector v signals (NULL: nothing), for `owner`; the old eventfd is put. */
void famez_set_eventfd(struct famez_vector *v, struct eventfd_ctx *ctx, struct file *owner)
{
	struct eventfd_ctx *old = rcu_replace_pointer(v->eventfd, ctx,
						      lockdep_is_held(&v->bridge->bind_lock));

	v->eventfd_owner = ctx ? owner : NULL;
	if (old) {
		synchronize_rcu();
		eventfd_ctx_put(old);
	}
}

static long famez_ioctl_bind(struct famez_bridge *b, struct file *file, void __user *arg)
{
	struct famez_bridge_bind bind;
	struct eventfd_ctx *ctx = NULL;
	struct famez_vector *v;
	long r = 0;

	if (copy_from_user(&bind, arg, sizeof(bind)))
		return -EFAULT;
	if (bind.vector >= b->n_vectors)
		return -EINVAL;
	v = &b->vectors[bind.vector];
	if (bind.fd >= 0) {
		ctx = eventfd_ctx_fdget(bind.fd);
		if (IS_ERR(ctx))
			return PTR_ERR(ctx);
	}
	mutex_lock(&b->bind_lock);
	if (v->eventfd_owner && v->eventfd_owner != file) {
		r = -EBUSY;
		if (ctx)
			eventfd_ctx_put(ctx);
	} else {
		famez_set_eventfd(v, ctx, file);
	}
	mutex_unlock(&b->bind_lock);
	return r;
}

/* What a closing file had bound is unbound. */
static void famez_unbind_file(struct famez_bridge *b, struct file *file)
{
	unsigned int i;

	mutex_lock(&b->bind_lock);
	for (i = 0; i < b->n_vectors; i++)
		if (b->vectors[i].eventfd_owner == file)
			famez_set_eventfd(&b->vectors[i], NULL, NULL);
	mutex_unlock(&b->bind_lock);
}

/* Called under the misc device list's lock: remove() cannot have dropped its reference yet. */
static int famez_open(struct inode *inode, struct file *file)
{
	struct famez_bridge *b = famez_of_file(file);
	struct famez_opener *o = kmalloc(sizeof(*o), GFP_KERNEL);

	if (!o)
		return -ENOMEM;
	o->file = file;
	mutex_lock(&b->openers_lock);
	list_add(&o->node, &b->openers);
	mutex_unlock(&b->openers_lock);
	kref_get(&b->ref);
	return 0;
}

static int famez_release(struct inode *inode, struct file *file)
{
	struct famez_bridge *b = famez_of_file(file);
	struct famez_opener *o;

	/* After remove() the vectors are gone, and so were the bindings with them. */
	down_read(&b->alive);
	if (!b->stopping)
		famez_unbind_file(b, file);
	up_read(&b->alive);
	/* Its mappings are gone: they held the file. */
	mutex_lock(&b->openers_lock);
	list_for_each_entry(o, &b->openers, node)
		if (o->file == file) {
			list_del(&o->node);
			kfree(o);
			break;
		}
	mutex_unlock(&b->openers_lock);
	kref_put(&b->ref, famez_free);
	return 0;
}

/*
 * Unmaps every page of the shared memory any process mapped. A mapping holds its file open, so
 * every mapping is in the f_mapping (the device node's inode) of an opener.
 */
void famez_unmap_all(struct famez_bridge *b)
{
	struct famez_opener *o;

	mutex_lock(&b->openers_lock);
	list_for_each_entry(o, &b->openers, node)
		unmap_mapping_range(o->file->f_mapping, 0, 0, 1);
	mutex_unlock(&b->openers_lock);
}

static long famez_ioctl_info(struct famez_bridge *b, void __user *arg)
{
	struct famez_bridge_info info = {
		.size = sizeof(info),
		.id = b->id,
		.server_id = b->fabric ? b->server_id : 0,
		.vectors = b->n_vectors,
		.link = READ_ONCE(b->link),
		.shm_size = b->shm_size,
		.cid = READ_ONCE(b->cid),
		.sid = READ_ONCE(b->sid),
		.pfm_cid = READ_ONCE(b->pfm_cid),
		.pfm_sid = READ_ONCE(b->pfm_sid),
	};

	if (b->fabric)
		info.flags |= FAMEZ_BRIDGE_FABRIC;
	if (b->n_vectors)
		info.flags |= FAMEZ_BRIDGE_DOORBELL;
	return copy_to_user(arg, &info, sizeof(info)) ? -EFAULT : 0;
}

static long famez_ioctl_ring(struct famez_bridge *b, void __user *arg)
{
	struct famez_bridge_ring ring;

	if (copy_from_user(&ring, arg, sizeof(ring)))
		return -EFAULT;
	if (!b->n_vectors)
		return -ENODEV;
	if (ring.peer > 0xffff || ring.vector > 0xff)
		return -EINVAL;
	famez_ring(b, ring.peer, ring.vector);
	return 0;
}

static long famez_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct famez_bridge *b = famez_of_file(file);
	long r;

	if (!famez_enter(b))
		return -ENODEV;
	switch (cmd) {
	case FAMEZ_BRIDGE_IOC_INFO:
		r = famez_ioctl_info(b, (void __user *)arg);
		break;
	case FAMEZ_BRIDGE_IOC_RING:
		r = famez_ioctl_ring(b, (void __user *)arg);
		break;
	case FAMEZ_BRIDGE_IOC_BIND:
		r = famez_ioctl_bind(b, file, (void __user *)arg);
		break;
	default:
		r = -ENOTTY;
	}
	famez_leave(b);
	return r;
}

/* Room in the queue: the senders left waiting are read again (under famez_enter()). */
static void famez_undefer(struct famez_bridge *b)
{
	unsigned int from;
	bool any = false;

	for_each_set_bit(from, b->rx_deferred, FAMEZ_IDS)
		if (test_and_clear_bit(from, b->rx_deferred)) {
			set_bit(from, b->rx_pending);
			any = true;
		}
	if (any)
		schedule_work(&b->rx_work);
}

/* read(): the oldest message received, "CID,SID:text" (cut to the buffer). */
static ssize_t famez_read(struct file *file, char __user *buf, size_t count, loff_t *ppos)
{
	struct famez_bridge *b = famez_of_file(file);
	struct famez_rx m;
	unsigned long flags;
	int r;

	/* Nothing to cut a message to: it stays queued rather than vanish. */
	if (!count)
		return 0;
	for (;;) {
		spin_lock_irqsave(&b->rx_lock, flags);
		if (b->rx_count) {
			m = b->rx[b->rx_head];
			b->rx_head = (b->rx_head + 1) % FAMEZ_RX_QUEUE;
			b->rx_count--;
			spin_unlock_irqrestore(&b->rx_lock, flags);
			if (famez_enter(b)) {
				famez_undefer(b);
				famez_leave(b);
			}
			break;
		}
		spin_unlock_irqrestore(&b->rx_lock, flags);
		if (!b->fabric || READ_ONCE(b->stopping))
			return 0;
		if (file->f_flags & O_NONBLOCK)
			return -EAGAIN;
		r = wait_event_interruptible(b->rx_wait,
					     READ_ONCE(b->rx_count) || READ_ONCE(b->stopping));
		if (r)
			return r;
	}
	count = min_t(size_t, count, m.len);
	return copy_to_user(buf, m.text, count) ? -EFAULT : count;
}

/* The CID,SID a slot holds, as a routed address; false while it has none. */
static bool famez_slot_route(struct famez_bridge *b, unsigned int id, struct famez_addr *to)
{
	u64 cid = famez_shm_u64(b, famez_slot(id, FAMEZ_S_PEER_CID));
	u64 sid = famez_shm_u64(b, famez_slot(id, FAMEZ_S_PEER_SID));

	if (cid == 0 || cid > FAMEZ_CID_MAX || sid > FAMEZ_SID_MAX)
		return false;
	*to = (struct famez_addr){ .via = FAMEZ_VIA_ROUTED, .cid = cid, .sid = sid };
	return true;
}

/* "CID,SID" in decimal, a CID of 1..4095 and a SID of 0..65535; false for anything else. */
static bool famez_parse_route(const char *dest, struct famez_addr *to)
{
	const char *comma = strchr(dest, ',');
	char c[8], s[8];
	size_t n;
	u64 cid, sid;

	if (!comma)
		return false;
	n = comma - dest;
	if (n == 0 || n >= sizeof(c) || strlen(comma + 1) >= sizeof(s))
		return false;
	memcpy(c, dest, n);
	c[n] = '\0';
	strscpy(s, comma + 1, sizeof(s));
	if (kstrtou64(c, 10, &cid) || kstrtou64(s, 10, &sid) || cid == 0 || cid > FAMEZ_CID_MAX ||
	    sid > FAMEZ_SID_MAX)
		return false;
	*to = (struct famez_addr){ .via = FAMEZ_VIA_ROUTED, .cid = cid, .sid = sid };
	return true;
}

/*
 * The path of "P1.P2..." (what follows "dr:"): at most FAMEZ_PATH_MAX ports of 1..255 in
 * decimal, separated by '.'; empty: our switch itself. False for anything else.
 */
static bool famez_parse_path(const char *path, struct famez_addr *to)
{
	const char *p = path;

	*to = (struct famez_addr){ .via = FAMEZ_VIA_DIRECTED };
	while (*p) {
		size_t len = strcspn(p, ".");
		char port[4];
		u8 v;

		if (to->path_len == FAMEZ_PATH_MAX || len == 0 || len >= sizeof(port))
			return false;
		memcpy(port, p, len);
		port[len] = '\0';
		/* kstrtou8() takes a '+' and a newline: digits only. */
		if (strspn(port, "0123456789") != len || kstrtou8(port, 10, &v) || v == 0)
			return false;
		to->path[to->path_len++] = v;
		p += len;
		/* A '.' separates: one at the end is no path. */
		if (*p == '.' && !*++p)
			return false;
	}
	return true;
}

/*
 * Where a write's DEST goes, into *to: a peer of our switch rung directly (an ID, server/switch,
 * or a "CID,SID" some slot of our switch holds); a CID,SID the switch routes to (one no slot of
 * our switch holds, or any other peer of our switch when the switch relays everything: its
 * peers' doorbells reach no one); or the path of "dr:P1.P2" (dr: alone: the switch itself). The
 * switch itself is always rung directly, and we never send to ourselves (famez_put() refuses).
 * 0, -EINVAL for a path that is none, or -EHOSTUNREACH.
 */
static int famez_dest(struct famez_bridge *b, const char *dest, struct famez_addr *to)
{
	bool relay = famez_relay_always(b);
	unsigned int id;

	if (!strncmp(dest, "dr:", 3))
		return famez_parse_path(dest + 3, to) ? 0 : -EINVAL;
	*to = (struct famez_addr){ .via = FAMEZ_VIA_DIRECT };
	if (!strcmp(dest, "server") || !strcmp(dest, "switch")) {
		to->id = b->server_id;
		return 0;
	}
	if (!strchr(dest, ',')) {
		if (kstrtouint(dest, 10, &id) || id == 0 || id > b->server_id)
			return -EHOSTUNREACH;
		to->id = id;
		if (!relay || id == b->server_id || id == b->id)
			return 0;
		/* Routed to the IDs its slot holds: none yet, and the switch could not route it. */
		return famez_slot_route(b, id, to) ? 0 : -EHOSTUNREACH;
	}
	if (!famez_parse_route(dest, to))
		return -EHOSTUNREACH;
	for (id = 1; id <= b->server_id; id++)
		if (famez_shm_u64(b, famez_slot(id, FAMEZ_S_PEER_CID)) == to->cid &&
		    famez_shm_u64(b, famez_slot(id, FAMEZ_S_PEER_SID)) == to->sid)
			break;
	if (id <= b->server_id && (!relay || id == b->server_id || id == b->id)) {
		*to = (struct famez_addr){ .via = FAMEZ_VIA_DIRECT, .id = id };
		return 0;
	}
	/* Beyond our switch, or on it with every message relayed: the switch routes it. */
	return famez_switch_routes(b) ? 0 : -EHOSTUNREACH;
}

/*
 * write("DEST:text"): sends text to DEST; a trailing newline is not part of it. A message the
 * switch routes or relays along a path (famez_dest()) returns once the switch took it, with its
 * verdict (famez_verdict(): EHOSTUNREACH for no route, no component there or the hop limit,
 * ENOTCONN while we have no CID, ENETDOWN for a relay a manager disabled, EIO for a verdict we do
 * not understand), or ETIMEDOUT if it was not taken in time. With O_NONBLOCK it returns once the
 * request is in our slot and the switch rung, without the verdict (counted in route_refused when
 * the slot is next taken); so does a wait a signal ends.
 */
static ssize_t famez_write(struct file *file, const char __user *buf, size_t count,
			   loff_t *ppos)
{
	struct famez_bridge *b = famez_of_file(file);
	char msg[FAMEZ_DEST_MAX + 1 + FAMEZ_MSG_MAX], *colon;
	bool nonblock = file->f_flags & O_NONBLOCK;
	struct famez_addr to;
	size_t n = count;
	int r;

	if (!b->fabric)
		return -EOPNOTSUPP;
	if (n >= sizeof(msg))
		return -EMSGSIZE;
	if (copy_from_user(msg, buf, n))
		return -EFAULT;
	msg[n] = '\0';
	if (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	/* "dr:PATH:text": DEST ends at the second ':'. */
	colon = strchr(strncmp(msg, "dr:", 3) ? msg : msg + 3, ':');
	if (!colon)
		return -EINVAL;
	*colon = '\0';
	if (!famez_enter(b))
		return -ENODEV;
	r = famez_dest(b, msg, &to);
	if (!r)
		r = famez_send_to(b, &to, colon + 1, FAMEZ_WRITE_TIMEOUT_MS, nonblock);
	famez_leave(b);
	return r < 0 ? r : count;
}

static __poll_t famez_poll(struct file *file, poll_table *wait)
{
	struct famez_bridge *b = famez_of_file(file);
	__poll_t mask = 0;

	poll_wait(file, &b->rx_wait, wait);
	if (READ_ONCE(b->rx_count))
		mask |= EPOLLIN | EPOLLRDNORM;
	if (READ_ONCE(b->stopping))
		mask |= EPOLLHUP;
	/* Writes wait for our slot themselves (O_NONBLOCK: EAGAIN while it is busy). */
	else if (b->fabric)
		mask |= EPOLLOUT | EPOLLWRNORM;
	return mask;
}

/*
 * Maps the page of the shared memory a mapping touched, while the device lives; after remove()
 * (which unmaps every page mapped before) a touch gets SIGBUS, never the old BAR2 address.
 */
static vm_fault_t famez_vm_fault(struct vm_fault *vmf)
{
	struct famez_bridge *b = famez_of_file(vmf->vma->vm_file);
	vm_fault_t r = VM_FAULT_SIGBUS;

	down_read(&b->map_lock);
	if (!READ_ONCE(b->stopping) && vmf->pgoff < b->shm_size >> PAGE_SHIFT)
		r = vmf_insert_pfn(vmf->vma, vmf->address, PHYS_PFN(b->shm_phys) + vmf->pgoff);
	up_read(&b->map_lock);
	return r;
}

static const struct vm_operations_struct famez_vm_ops = {
	.fault = famez_vm_fault,
};

static void famez_vma_set_flags(struct vm_area_struct *vma, vm_flags_t flags)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
	vm_flags_set(vma, flags);
#else
	vma->vm_flags |= flags;
#endif
}

/*
 * All of the shared memory, or the pages of it at the offset asked; shared only (a private copy
 * of memory every peer writes is no use). Pages are mapped as they are touched, so that remove()
 * can take every one back: pages mapped here, before the mapping is linked where remove() looks,
 * could escape it.
 */
static int famez_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct famez_bridge *b = famez_of_file(file);
	unsigned long pages = PAGE_ALIGNED(b->shm_phys) ? b->shm_size >> PAGE_SHIFT : 0;

	/* In pages: vm_pgoff << PAGE_SHIFT could overflow. */
	if (vma->vm_pgoff >= pages || vma_pages(vma) > pages - vma->vm_pgoff ||
	    is_cow_mapping(vma->vm_flags))
		return -EINVAL;
	/* Not famez_enter(): mmap_lock is held here, and `alive` is held around user copies. */
	if (READ_ONCE(b->stopping))
		return -ENODEV;
	famez_vma_set_flags(vma, VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP);
	vma->vm_ops = &famez_vm_ops;
	return 0;
}

const struct file_operations famez_fops = {
	.owner = THIS_MODULE,
	.open = famez_open,
	.release = famez_release,
	.read = famez_read,
	.write = famez_write,
	.poll = famez_poll,
	.unlocked_ioctl = famez_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.mmap = famez_mmap,
	.llseek = noop_llseek,
};

// SPDX-License-Identifier: GPL-2.0
/*
 * famez_bridge: the guest side of a famez fabric.
 *
 * Binds QEMU's ivshmem devices (ivshmem-doorbell, with MSI-X, and ivshmem-plain, shared memory
 * only), takes every interrupt vector and counts what arrives on each, maps the shared memory
 * (BAR2, cached: it is RAM on the host) and finds out whether the fabric speaks the FAME-Z
 * mailbox. Each device gets a character device /dev/famez_bridge_XX (XX: its PCI slot) with
 * ioctls to learn what the bridge is and to ring peers, and mmap() of the shared memory.
 *
 * On a FAME-Z fabric the bridge is a peer in the kernel: it names itself in its slot, answers
 * ping and Link CTL Peer-Attribute, asks the server to configure it (Link RFC) and takes the
 * CTL-Write that does. Every other message goes to a bounded queue that read() returns as
 * "CID,SID:text"; write("DEST:text") sends one (DEST: a peer ID, "CID,SID", or server).
 *
 * The interrupt handler only counts and schedules: messages are read by a work item, replies
 * and writes leave through one slot, one at a time, each waiting (never in interrupt context)
 * until the receiver freed the slot.
 *
 * Everything in the shared memory is written by every peer: it is read once, checked, and
 * never trusted further.
 */

#include <linux/atomic.h>
#include <linux/bitmap.h>
#include <linux/delay.h>
#include <linux/eventfd.h>
#include <linux/fs.h>
#include <linux/interrupt.h>
#include <linux/io.h>
#include <linux/kref.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/poll.h>
#include <linux/rwsem.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/utsname.h>
#include <linux/version.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include <uapi/linux/famez_bridge.h>

#define FAMEZ_NAME "famez_bridge"

/* ivshmem's registers in BAR0 (QEMU docs/specs/ivshmem-spec.txt). */
#define IVSHMEM_IVPOSITION 0x08
#define IVSHMEM_DOORBELL 0x0c
#define IVSHMEM_BAR_REGS 0
#define IVSHMEM_BAR_SHM 2

/* The FAME-Z mailbox: globals in slot 0, one 512-byte slot per peer ID. */
#define FAMEZ_SLOT_SIZE 512
#define FAMEZ_MSG_OFFSET 128
#define FAMEZ_G_SLOT_SIZE 0
#define FAMEZ_G_MSG_OFFSET 8
#define FAMEZ_G_CLIENTS 16
#define FAMEZ_G_VECTORS 24
#define FAMEZ_G_SERVER_ID 32
#define FAMEZ_S_NODENAME 0
#define FAMEZ_S_CCLASS 32
#define FAMEZ_S_MSG_LEN 64
#define FAMEZ_S_PEER_ID 72
#define FAMEZ_S_LAST_RESPONDER 80
#define FAMEZ_S_PEER_SID 88
#define FAMEZ_S_PEER_CID 96
#define FAMEZ_NAME_MAX 32 /* nodename and C-Class, with the NUL */
#define FAMEZ_MSG_MAX 384 /* with the NUL */
#define FAMEZ_CLIENTS_MAX 254
#define FAMEZ_IDS 256
#define FAMEZ_CCLASS "Bridge"

#define FAMEZ_RX_QUEUE 64          /* messages waiting for read() */
#define FAMEZ_TX_QUEUE 16          /* replies waiting for the slot */
#define FAMEZ_TX_TIMEOUT_MS 1000   /* how long a reply waits for the receiver to free our slot */
#define FAMEZ_WRITE_TIMEOUT_MS 5000 /* the same for write(), as FAME-Z's driver waited */

static int fabric = -1;
module_param(fabric, int, 0444);
MODULE_PARM_DESC(fabric,
		 "Speak the FAME-Z mailbox: -1 if the shared memory holds one (default), 0 never, 1 warn if not");

static char *nodename;
module_param(nodename, charp, 0444);
MODULE_PARM_DESC(nodename, "Our nodename in the mailbox (default: <hostname>.<PCI slot>)");

struct famez_vector {
	struct famez_bridge *bridge;
	unsigned int index;
	atomic64_t count;
	struct eventfd_ctx __rcu *eventfd; /* FAMEZ_BRIDGE_IOC_BIND */
	struct file *eventfd_owner;        /* the file that bound it */
};

/* A message received, as read() returns it: "CID,SID:text" of its sender. */
struct famez_rx {
	unsigned int len;
	char text[FAMEZ_MSG_MAX + 24];
};

/* An open file, for remove() to unmap what it mapped. */
struct famez_opener {
	struct list_head node;
	struct file *file;
};

/* A reply the work items send. */
struct famez_tx {
	unsigned int dest;
	char text[FAMEZ_MSG_MAX];
};

enum famez_link {
	FAMEZ_LINK_DOWN = FAMEZ_BRIDGE_LINK_DOWN,
	FAMEZ_LINK_UP = FAMEZ_BRIDGE_LINK_UP,
	FAMEZ_LINK_CONFIGURED = FAMEZ_BRIDGE_LINK_CONFIGURED,
};

/*
 * One per device. Open files hold a reference: the structure outlives the device, but once
 * remove() set `stopping` and waited for `alive` nothing touches the device or its memory.
 */
struct famez_bridge {
	struct kref ref;
	struct rw_semaphore alive;
	/*
	 * The open files (struct famez_opener), so that remove() finds every mapping of the shared
	 * memory in their f_mapping. map_lock orders page faults (readers) against remove().
	 */
	struct list_head openers;
	struct mutex openers_lock;
	struct rw_semaphore map_lock;
	struct pci_dev *pdev;
	void __iomem *regs;
	void *shm;
	resource_size_t shm_phys;
	resource_size_t shm_size;
	u32 id;
	bool fabric;
	u32 n_clients;
	u32 server_id;
	unsigned int n_vectors;
	struct famez_vector *vectors;
	char name[32];
	struct miscdevice misc;

	/* Fabric mode. */
	char nodename[FAMEZ_NAME_MAX];
	char cclass[FAMEZ_NAME_MAX];
	enum famez_link link;
	u64 cid, sid, pfm_cid, pfm_sid;
	bool stopping;

	DECLARE_BITMAP(rx_pending, FAMEZ_IDS); /* senders that rang, set by the handler */
	DECLARE_BITMAP(rx_deferred, FAMEZ_IDS); /* senders left waiting while the queue is full */
	struct work_struct rx_work;
	spinlock_t rx_lock;
	struct famez_rx *rx;                   /* ring of FAMEZ_RX_QUEUE for read() */
	unsigned int rx_head, rx_count;
	wait_queue_head_t rx_wait;

	struct mutex bind_lock;                /* eventfd bindings */
	struct mutex tx_lock;                  /* owns our slot */
	struct famez_tx *tx;                   /* ring of FAMEZ_TX_QUEUE replies */
	unsigned int tx_head, tx_count;
	spinlock_t tx_qlock;
	struct work_struct tx_work;

	atomic64_t sent, received, dropped, malformed, spurious, send_timeouts, deferred;
};

static u64 famez_shm_u64(const struct famez_bridge *b, size_t offset)
{
	return le64_to_cpu(READ_ONCE(*(__le64 *)(b->shm + offset)));
}

/* Whether the shared memory starts with a FAME-Z mailbox that has a slot for us. */
static bool famez_find_mailbox(struct famez_bridge *b)
{
	u64 clients, vectors, server_id;

	if (b->shm_size < FAMEZ_SLOT_SIZE)
		return false;
	clients = famez_shm_u64(b, FAMEZ_G_CLIENTS);
	vectors = famez_shm_u64(b, FAMEZ_G_VECTORS);
	server_id = famez_shm_u64(b, FAMEZ_G_SERVER_ID);
	if (famez_shm_u64(b, FAMEZ_G_SLOT_SIZE) != FAMEZ_SLOT_SIZE ||
	    famez_shm_u64(b, FAMEZ_G_MSG_OFFSET) != FAMEZ_MSG_OFFSET ||
	    clients == 0 || clients > FAMEZ_CLIENTS_MAX || vectors != clients + 2 ||
	    server_id != clients + 1 ||
	    (clients + 2) * FAMEZ_SLOT_SIZE > b->shm_size)
		return false;
	if (b->id == 0 || b->id > clients ||
	    famez_shm_u64(b, (size_t)b->id * FAMEZ_SLOT_SIZE + FAMEZ_S_PEER_ID) != b->id)
		return false;
	b->n_clients = clients;
	b->server_id = server_id;
	return true;
}

static void famez_shm_set_u64(struct famez_bridge *b, size_t offset, u64 v)
{
	WRITE_ONCE(*(__le64 *)(b->shm + offset), cpu_to_le64(v));
}

static size_t famez_slot(unsigned int id, size_t field)
{
	return (size_t)id * FAMEZ_SLOT_SIZE + field;
}

static void famez_set_string(struct famez_bridge *b, unsigned int id, size_t field,
			     const char *value)
{
	char buf[FAMEZ_NAME_MAX] = "";

	strscpy(buf, value, sizeof(buf));
	memcpy(b->shm + famez_slot(id, field), buf, sizeof(buf));
}

static void famez_ring(struct famez_bridge *b, unsigned int peer, unsigned int vector)
{
	iowrite32(peer << 16 | vector, b->regs + IVSHMEM_DOORBELL);
}

/*
 * Sends text to dest through our slot: waits (at most timeout_ms, none with nonblock) until the
 * last receiver freed it, writes the bytes, then the length, and rings dest on our vector. A
 * message not yet acknowledged is never overwritten.
 */
static int famez_send(struct famez_bridge *b, unsigned int dest, const char *text,
		      unsigned int timeout_ms, bool nonblock)
{
	size_t len = strlen(text);
	unsigned long deadline;
	int r = 0;

	if (len == 0 || len >= FAMEZ_MSG_MAX)
		return -EMSGSIZE;
	if (dest == 0 || dest > b->server_id || dest == b->id)
		return -EHOSTUNREACH;
	if (nonblock) {
		if (!mutex_trylock(&b->tx_lock))
			return -EAGAIN;
	} else if (mutex_lock_interruptible(&b->tx_lock)) {
		return -ERESTARTSYS;
	}
	deadline = jiffies + msecs_to_jiffies(timeout_ms);
	while (famez_shm_u64(b, famez_slot(b->id, FAMEZ_S_MSG_LEN)) != 0) {
		if (nonblock) {
			r = -EAGAIN;
			goto out;
		}
		if (time_after(jiffies, deadline) || READ_ONCE(b->stopping)) {
			atomic64_inc(&b->send_timeouts);
			r = -ETIMEDOUT;
			goto out;
		}
		if (signal_pending(current)) {
			r = -ERESTARTSYS;
			goto out;
		}
		usleep_range(50, 200);
	}
	famez_shm_set_u64(b, famez_slot(b->id, FAMEZ_S_LAST_RESPONDER), 0);
	memcpy(b->shm + famez_slot(b->id, FAMEZ_MSG_OFFSET), text, len + 1);
	/* The bytes before the length: a receiver that sees the length sees the text. */
	wmb();
	famez_shm_set_u64(b, famez_slot(b->id, FAMEZ_S_MSG_LEN), len);
	wmb();
	famez_ring(b, dest, b->id);
	atomic64_inc(&b->sent);
out:
	mutex_unlock(&b->tx_lock);
	return r;
}

/* Queues a reply for the tx work (replies never wait in the receive path). */
static __printf(3, 4) void famez_reply(struct famez_bridge *b, unsigned int dest, const char *fmt, ...)
{
	struct famez_tx *t;
	unsigned long flags;
	va_list ap;

	spin_lock_irqsave(&b->tx_qlock, flags);
	if (b->tx_count == FAMEZ_TX_QUEUE) {
		spin_unlock_irqrestore(&b->tx_qlock, flags);
		atomic64_inc(&b->dropped);
		return;
	}
	t = &b->tx[(b->tx_head + b->tx_count++) % FAMEZ_TX_QUEUE];
	t->dest = dest;
	va_start(ap, fmt);
	vscnprintf(t->text, sizeof(t->text), fmt, ap);
	va_end(ap);
	spin_unlock_irqrestore(&b->tx_qlock, flags);
	schedule_work(&b->tx_work);
}

static void famez_tx_work(struct work_struct *work)
{
	struct famez_bridge *b = container_of(work, struct famez_bridge, tx_work);
	struct famez_tx t;
	unsigned long flags;

	for (;;) {
		spin_lock_irqsave(&b->tx_qlock, flags);
		if (!b->tx_count) {
			spin_unlock_irqrestore(&b->tx_qlock, flags);
			return;
		}
		t = b->tx[b->tx_head];
		b->tx_head = (b->tx_head + 1) % FAMEZ_TX_QUEUE;
		b->tx_count--;
		spin_unlock_irqrestore(&b->tx_qlock, flags);
		if (famez_send(b, t.dest, t.text, FAMEZ_TX_TIMEOUT_MS, false) < 0)
			atomic64_inc(&b->dropped);
	}
}

/* The value of key in a "K=V,K=V" list; false if it is missing or not a number. */
static bool famez_kv(const char *list, const char *key, u64 *value)
{
	size_t klen = strlen(key);
	const char *p = list;

	while (p && *p) {
		if (!strncmp(p, key, klen) && p[klen] == '=') {
			char num[24];
			size_t n = strcspn(p + klen + 1, ",");

			if (n == 0 || n >= sizeof(num))
				return false;
			memcpy(num, p + klen + 1, n);
			num[n] = '\0';
			return !kstrtou64(num, 10, value);
		}
		p = strchr(p, ',');
		if (p)
			p++;
	}
	return false;
}

/* The server configures us: "CTL-Write Space=0,PFMCID=..,PFMSID=..,CID=..,SID=..,Tag=..". */
static void famez_ctl_write(struct famez_bridge *b, unsigned int from, const char *args)
{
	u64 cid, sid, pfm_cid, pfm_sid, tag;

	if (from != b->server_id || !famez_kv(args, "CID", &cid) || !famez_kv(args, "SID", &sid) ||
	    !famez_kv(args, "PFMCID", &pfm_cid) || !famez_kv(args, "PFMSID", &pfm_sid) ||
	    !famez_kv(args, "Tag", &tag) || cid > 0xfff || sid > 0xffff) {
		atomic64_inc(&b->malformed);
		return;
	}
	b->cid = cid;
	b->sid = sid;
	b->pfm_cid = pfm_cid;
	b->pfm_sid = pfm_sid;
	b->link = FAMEZ_LINK_CONFIGURED;
	famez_shm_set_u64(b, famez_slot(b->id, FAMEZ_S_PEER_CID), cid);
	famez_shm_set_u64(b, famez_slot(b->id, FAMEZ_S_PEER_SID), sid);
	famez_reply(b, from, "Standalone Acknowledgment Tag=%llu,Reason=OK",
		    (unsigned long long)tag);
}

/*
 * A message for read(): "CID,SID:text" of the sender, or "ID:text" while it has no CID. False
 * when the queue is full: the message then stays in its sender's slot, unacknowledged, until a
 * read() makes room (the sender's next message waits for it), so nothing is lost.
 */
static bool famez_queue_rx(struct famez_bridge *b, unsigned int from, const char *text)
{
	u64 cid = famez_shm_u64(b, famez_slot(from, FAMEZ_S_PEER_CID));
	u64 sid = famez_shm_u64(b, famez_slot(from, FAMEZ_S_PEER_SID));
	struct famez_rx *m;
	unsigned long flags;

	spin_lock_irqsave(&b->rx_lock, flags);
	if (b->rx_count == FAMEZ_RX_QUEUE) {
		/* Under the lock: a read() that makes room after this sees the bit and undefers. */
		if (!test_and_set_bit(from, b->rx_deferred))
			atomic64_inc(&b->deferred);
		spin_unlock_irqrestore(&b->rx_lock, flags);
		return false;
	}
	m = &b->rx[(b->rx_head + b->rx_count++) % FAMEZ_RX_QUEUE];
	if (cid && cid <= 0xfff && sid <= 0xffff)
		m->len = scnprintf(m->text, sizeof(m->text), "%llu,%llu:%s",
				   (unsigned long long)cid, (unsigned long long)sid, text);
	else
		m->len = scnprintf(m->text, sizeof(m->text), "%u:%s", from, text);
	spin_unlock_irqrestore(&b->rx_lock, flags);
	wake_up_interruptible(&b->rx_wait);
	return true;
}

/* Answers or takes a message; false when it must wait in its slot (see famez_queue_rx()). */
static bool famez_handle(struct famez_bridge *b, unsigned int from, char *text)
{
	char *tracker = strstr(text, "!EZT=");

	if (tracker)
		*tracker = '\0';
	if (!strcmp(text, "ping")) {
		famez_reply(b, from, "pong");
	} else if (!strcmp(text, "Link CTL Peer-Attribute")) {
		famez_reply(b, from, "Link CTL ACK C-Class=%s,SID0=%llu,CID0=%llu", b->cclass,
			    (unsigned long long)b->sid, (unsigned long long)b->cid);
	} else if (!strncmp(text, "CTL-Write ", 10)) {
		famez_ctl_write(b, from, text + 10);
	} else {
		return famez_queue_rx(b, from, text);
	}
	return true;
}

/*
 * Reads the slot of a peer that rang: copied once and checked; acknowledged once it was
 * answered or queued.
 */
static void famez_receive(struct famez_bridge *b, unsigned int from)
{
	char text[FAMEZ_MSG_MAX];
	u64 len = famez_shm_u64(b, famez_slot(from, FAMEZ_S_MSG_LEN));
	size_t i;

	if (len == 0) {
		atomic64_inc(&b->spurious);
		return;
	}
	if (len >= FAMEZ_MSG_MAX ||
	    famez_shm_u64(b, famez_slot(from, FAMEZ_S_PEER_ID)) != from) {
		atomic64_inc(&b->malformed);
		goto ack;
	}
	rmb();
	memcpy(text, b->shm + famez_slot(from, FAMEZ_MSG_OFFSET), len + 1);
	if (text[len] != '\0') {
		atomic64_inc(&b->malformed);
		goto ack;
	}
	for (i = 0; i < len; i++)
		if (text[i] < 0x20 || text[i] > 0x7e) {
			atomic64_inc(&b->malformed);
			goto ack;
		}
	if (!famez_handle(b, from, text))
		return;
	atomic64_inc(&b->received);
ack:
	famez_shm_set_u64(b, famez_slot(from, FAMEZ_S_LAST_RESPONDER), b->id);
	famez_shm_set_u64(b, famez_slot(from, FAMEZ_S_MSG_LEN), 0);
}

static void famez_rx_work(struct work_struct *work)
{
	struct famez_bridge *b = container_of(work, struct famez_bridge, rx_work);
	unsigned int from;

	for_each_set_bit(from, b->rx_pending, FAMEZ_IDS)
		if (test_and_clear_bit(from, b->rx_pending))
			famez_receive(b, from);
}

static void famez_signal(struct eventfd_ctx *ctx)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 8, 0)
	eventfd_signal(ctx);
#else
	eventfd_signal(ctx, 1);
#endif
}

static irqreturn_t famez_irq(int irq, void *data)
{
	struct famez_vector *v = data;
	struct famez_bridge *b = v->bridge;
	struct eventfd_ctx *ctx;

	atomic64_inc(&v->count);
	rcu_read_lock();
	ctx = rcu_dereference(v->eventfd);
	if (ctx)
		famez_signal(ctx);
	rcu_read_unlock();
	/* Vector S: peer S has a message for us in slot S. */
	if (b->fabric && v->index >= 1 && v->index <= b->server_id && v->index != b->id) {
		set_bit(v->index, b->rx_pending);
		schedule_work(&b->rx_work);
	}
	return IRQ_HANDLED;
}

static int famez_setup_vectors(struct famez_bridge *b)
{
	struct pci_dev *pdev = b->pdev;
	unsigned int i;
	int n, r;

	n = pci_msix_vec_count(pdev);
	/* Decided before the first handler runs (it reads it): a vector per ID, the server's too. */
	if (b->fabric && (n <= 0 || (u32)n <= b->server_id)) {
		dev_warn(&pdev->dev, "%d vectors cannot reach the server (ID %u): no fabric\n",
			 max(n, 0), b->server_id);
		b->fabric = false;
	}
	if (n <= 0)
		return 0; /* ivshmem-plain: shared memory only */
	n = pci_alloc_irq_vectors(pdev, n, n, PCI_IRQ_MSIX);
	if (n < 0)
		return n;
	/* MSI-X messages are memory writes by the device. */
	pci_set_master(pdev);
	b->vectors = devm_kcalloc(&pdev->dev, n, sizeof(*b->vectors), GFP_KERNEL);
	if (!b->vectors)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		struct famez_vector *v = &b->vectors[i];

		v->bridge = b;
		v->index = i;
		atomic64_set(&v->count, 0);
		r = devm_request_irq(&pdev->dev, pci_irq_vector(pdev, i), famez_irq, 0,
				     b->name, v);
		if (r)
			return r;
		/* Counts the handlers taken, for famez_free_irqs() should a later one fail. */
		b->n_vectors = i + 1;
	}
	return 0;
}

/*
 * Frees our interrupts now, not when devres would (after remove() or a failed probe returned,
 * when the bridge they point at may be freed); then no handler runs or schedules work.
 */
static void famez_free_irqs(struct famez_bridge *b)
{
	unsigned int i;

	for (i = 0; i < b->n_vectors; i++)
		devm_free_irq(&b->pdev->dev, pci_irq_vector(b->pdev, i), &b->vectors[i]);
}

/* ---- the character device ---- */

static struct famez_bridge *famez_of_file(struct file *file)
{
	struct miscdevice *misc = file->private_data;

	return container_of(misc, struct famez_bridge, misc);
}

static void famez_free(struct kref *ref)
{
	struct famez_bridge *b = container_of(ref, struct famez_bridge, ref);

	kfree(b->rx);
	kfree(b->tx);
	kfree(b);
}

/* Replaces what vector v signals (NULL: nothing), for `owner`; the old eventfd is put. */
static void famez_set_eventfd(struct famez_vector *v, struct eventfd_ctx *ctx,
			      struct file *owner)
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
static void famez_unmap_all(struct famez_bridge *b)
{
	struct famez_opener *o;

	mutex_lock(&b->openers_lock);
	list_for_each_entry(o, &b->openers, node)
		unmap_mapping_range(o->file->f_mapping, 0, 0, 1);
	mutex_unlock(&b->openers_lock);
}

/* Takes `alive` for reading: false (nothing may be touched) once the device is gone. */
static bool famez_enter(struct famez_bridge *b)
{
	down_read(&b->alive);
	if (!b->stopping)
		return true;
	up_read(&b->alive);
	return false;
}

static void famez_leave(struct famez_bridge *b)
{
	up_read(&b->alive);
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

/* The peer ID a write's DEST names: an ID, "CID,SID" (from the slots), or server/switch. */
static int famez_dest(struct famez_bridge *b, const char *dest)
{
	const char *comma = strchr(dest, ',');
	unsigned int id;
	u64 cid, sid;

	if (!strcmp(dest, "server") || !strcmp(dest, "switch"))
		return b->server_id;
	if (!comma)
		return kstrtouint(dest, 10, &id) || id == 0 || id > b->server_id ? -EHOSTUNREACH : id;
	{
		char c[8], s[8];
		size_t n = comma - dest;

		if (n == 0 || n >= sizeof(c) || strlen(comma + 1) >= sizeof(s))
			return -EHOSTUNREACH;
		memcpy(c, dest, n);
		c[n] = '\0';
		strscpy(s, comma + 1, sizeof(s));
		if (kstrtou64(c, 10, &cid) || kstrtou64(s, 10, &sid) || cid == 0)
			return -EHOSTUNREACH;
	}
	for (id = 1; id <= b->server_id; id++)
		if (famez_shm_u64(b, famez_slot(id, FAMEZ_S_PEER_CID)) == cid &&
		    famez_shm_u64(b, famez_slot(id, FAMEZ_S_PEER_SID)) == sid)
			return id;
	return -EHOSTUNREACH;
}

/* write("DEST:text"): sends text to DEST; a trailing newline is not part of it. */
static ssize_t famez_write(struct file *file, const char __user *buf, size_t count,
			   loff_t *ppos)
{
	struct famez_bridge *b = famez_of_file(file);
	char msg[FAMEZ_MSG_MAX + 24], *colon;
	size_t n = count;
	int dest, r;

	if (!b->fabric)
		return -EOPNOTSUPP;
	if (n >= sizeof(msg))
		return -EMSGSIZE;
	if (copy_from_user(msg, buf, n))
		return -EFAULT;
	msg[n] = '\0';
	if (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	colon = strchr(msg, ':');
	if (!colon)
		return -EINVAL;
	*colon = '\0';
	if (!famez_enter(b))
		return -ENODEV;
	dest = famez_dest(b, msg);
	r = dest < 0 ? dest
		     : famez_send(b, dest, colon + 1, FAMEZ_WRITE_TIMEOUT_MS,
				  file->f_flags & O_NONBLOCK);
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

static const struct file_operations famez_fops = {
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

/* ---- sysfs, under the PCI device ---- */

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

/* Printable ASCII, not blank. Not isgraph(): the kernel's also takes Latin-1 bytes 0xa1-0xff. */
static bool famez_graph(char c)
{
	return c > ' ' && c <= '~';
}

/* A name a peer may show: 1 to 31 printable characters, no blanks or ':' (the text API's). */
static bool famez_name_ok(const char *name, size_t len)
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
ATTRIBUTE_GROUPS(famez);

/* ---- the PCI driver ---- */

/* pcim_iomap_region() is public (declared and exported) from 6.12 on; 6.11 kept it internal. */
static void __iomem *famez_map_regs(struct pci_dev *pdev)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
	return pcim_iomap_region(pdev, IVSHMEM_BAR_REGS, FAMEZ_NAME);
#else
	int r = pcim_iomap_regions(pdev, BIT(IVSHMEM_BAR_REGS), FAMEZ_NAME);

	return r ? IOMEM_ERR_PTR(r) : pcim_iomap_table(pdev)[IVSHMEM_BAR_REGS];
#endif
}

/* Fabric mode: names us in our slot and asks the server to configure us. */
static void famez_join_fabric(struct famez_bridge *b)
{
	if (nodename && nodename[0])
		strscpy(b->nodename, nodename, sizeof(b->nodename));
	else
		snprintf(b->nodename, sizeof(b->nodename), "%.20s.%02x", utsname()->nodename,
			 PCI_SLOT(b->pdev->devfn));
	/* Held to the rule the nodename attribute keeps: peers split our name on blanks and ':'. */
	if (!famez_name_ok(b->nodename, strlen(b->nodename))) {
		snprintf(b->nodename, sizeof(b->nodename), "bridge.%02x", PCI_SLOT(b->pdev->devfn));
		dev_warn(&b->pdev->dev,
			 "nodename= or the hostname has blanks, ':' or bytes not ASCII: named %s\n",
			 b->nodename);
	}
	strscpy(b->cclass, FAMEZ_CCLASS, sizeof(b->cclass));
	famez_set_string(b, b->id, FAMEZ_S_NODENAME, b->nodename);
	famez_set_string(b, b->id, FAMEZ_S_CCLASS, b->cclass);
	b->link = FAMEZ_LINK_UP;
	famez_reply(b, b->server_id, "Link RFC TTC=27us");
}

static int famez_probe(struct pci_dev *pdev, const struct pci_device_id *ent)
{
	struct device *dev = &pdev->dev;
	struct famez_bridge *b;
	int r;

	b = kzalloc(sizeof(*b), GFP_KERNEL);
	if (!b)
		return -ENOMEM;
	kref_init(&b->ref);
	init_rwsem(&b->alive);
	INIT_LIST_HEAD(&b->openers);
	mutex_init(&b->openers_lock);
	init_rwsem(&b->map_lock);
	spin_lock_init(&b->rx_lock);
	spin_lock_init(&b->tx_qlock);
	mutex_init(&b->tx_lock);
	mutex_init(&b->bind_lock);
	init_waitqueue_head(&b->rx_wait);
	INIT_WORK(&b->rx_work, famez_rx_work);
	INIT_WORK(&b->tx_work, famez_tx_work);
	b->pdev = pdev;
	/* FAME-Z's name, by PCI slot; with the bus too off bus 0, where slots repeat. */
	if (pdev->bus->number)
		snprintf(b->name, sizeof(b->name), FAMEZ_NAME "_%02x_%02x", pdev->bus->number,
			 PCI_SLOT(pdev->devfn));
	else
		snprintf(b->name, sizeof(b->name), FAMEZ_NAME "_%02x", PCI_SLOT(pdev->devfn));
	b->rx = kcalloc(FAMEZ_RX_QUEUE, sizeof(*b->rx), GFP_KERNEL);
	b->tx = kcalloc(FAMEZ_TX_QUEUE, sizeof(*b->tx), GFP_KERNEL);
	r = -ENOMEM;
	if (!b->rx || !b->tx)
		goto fail;

	r = pcim_enable_device(pdev);
	if (r)
		goto fail;
	b->regs = famez_map_regs(pdev);
	if (IS_ERR(b->regs)) {
		r = PTR_ERR(b->regs);
		goto fail;
	}

	b->shm_phys = pci_resource_start(pdev, IVSHMEM_BAR_SHM);
	b->shm_size = pci_resource_len(pdev, IVSHMEM_BAR_SHM);
	r = -ENODEV;
	if (!b->shm_size) {
		dev_err(dev, "no shared memory (BAR2)\n");
		goto fail;
	}
	r = -EBUSY;
	/* Not b->name: devres releases the region after remove() may have freed the bridge. */
	if (!devm_request_mem_region(dev, b->shm_phys, b->shm_size, FAMEZ_NAME))
		goto fail;
	/* RAM on the host side: cached, never uncached. */
	b->shm = devm_memremap(dev, b->shm_phys, b->shm_size, MEMREMAP_WB);
	if (IS_ERR(b->shm)) {
		r = PTR_ERR(b->shm);
		goto fail;
	}
	b->id = ioread32(b->regs + IVSHMEM_IVPOSITION);
	/* Never without a mailbox checked: its globals bound every ID and offset we use. */
	b->fabric = fabric != 0 && famez_find_mailbox(b);
	if (fabric == 1 && !b->fabric)
		dev_warn(dev, "fabric=1, but the shared memory holds no FAME-Z mailbox for us\n");

	r = famez_setup_vectors(b);
	if (r) {
		dev_err(dev, "cannot take the interrupt vectors: %d\n", r);
		goto fail_irqs;
	}
	pci_set_drvdata(pdev, b);

	b->misc.minor = MISC_DYNAMIC_MINOR;
	b->misc.name = b->name;
	/* An opener is a fabric peer (see famez_bridge(4), PERMISSIONS): root only, unless udev. */
	b->misc.mode = 0600;
	b->misc.fops = &famez_fops;
	b->misc.parent = dev;
	r = misc_register(&b->misc);
	if (r)
		goto fail_irqs;
	if (b->fabric)
		famez_join_fabric(b);
	dev_info(dev, "%s: peer %u, %u vectors, %llu bytes of shared memory%s\n", b->name, b->id,
		 b->n_vectors, (unsigned long long)b->shm_size,
		 b->fabric ? ", FAME-Z mailbox" : "");
	return 0;

fail_irqs:
	/* A peer may have rung already: its handler and work must be gone before the bridge. */
	famez_free_irqs(b);
	cancel_work_sync(&b->rx_work);
	cancel_work_sync(&b->tx_work);
fail:
	kref_put(&b->ref, famez_free);
	return r;
}

static void famez_remove(struct pci_dev *pdev)
{
	struct famez_bridge *b = pci_get_drvdata(pdev);
	unsigned int i;

	misc_deregister(&b->misc);
	famez_free_irqs(b);
	/*
	 * No handler runs now; nor will any open file: first they see us stopping (a write waiting
	 * for our slot gives up at once, not after its 5 s, so nobody can hold remove() for 5 s a
	 * writer), then we wait for those inside to leave.
	 */
	down_write(&b->map_lock);
	WRITE_ONCE(b->stopping, true);
	up_write(&b->map_lock);
	down_write(&b->alive);
	up_write(&b->alive);
	/* No fault maps a page any more: those mapped go, before devres unmaps and frees BAR2. */
	famez_unmap_all(b);
	wake_up_interruptible(&b->rx_wait);
	cancel_work_sync(&b->rx_work);
	cancel_work_sync(&b->tx_work);
	mutex_lock(&b->bind_lock);
	for (i = 0; i < b->n_vectors; i++)
		famez_set_eventfd(&b->vectors[i], NULL, NULL);
	mutex_unlock(&b->bind_lock);
	if (b->fabric) {
		famez_set_string(b, b->id, FAMEZ_S_NODENAME, "");
		famez_set_string(b, b->id, FAMEZ_S_CCLASS, "");
	}
	kref_put(&b->ref, famez_free);
}

static const struct pci_device_id famez_ids[] = {
	{ PCI_DEVICE(PCI_VENDOR_ID_REDHAT_QUMRANET, 0x1110) }, /* ivshmem */
	{ }
};
MODULE_DEVICE_TABLE(pci, famez_ids);

static struct pci_driver famez_driver = {
	.name = FAMEZ_NAME,
	.id_table = famez_ids,
	.probe = famez_probe,
	.remove = famez_remove,
	.dev_groups = famez_groups,
};
module_pci_driver(famez_driver);

MODULE_DESCRIPTION("famez fabric bridge for QEMU ivshmem devices");
MODULE_AUTHOR("The famez developers");
MODULE_LICENSE("GPL");

/* SPDX-License-Identifier: GPL-2.0 */
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
 * CTL-Write that does. It is a Gen-Z component too, with a control space a manager reads and
 * writes with control requests (famez_control.c). Every other message goes to a bounded queue
 * that read() returns as "CID,SID:text"; write("DEST:text") sends one (DEST: a peer ID,
 * "CID,SID", server, or dr:PATH). On famezd's linked switches a CID,SID beyond ours goes to our
 * switch as a route request, a dr:PATH as a directed request, and the write returns the switch's
 * verdict; a message the switch delivers from elsewhere reads as its origin's, or as the way
 * back of a directed one (docs/fabric.md, "Routed messages in the guest driver").
 *
 * The interrupt handler only counts and schedules: messages are read by a work item, replies
 * and writes leave through one slot, one at a time, each waiting (never in interrupt context)
 * until the receiver freed the slot.
 *
 * Everything in the shared memory is written by every peer: it is read once, checked, and
 * never trusted further.
 *
 * The driver's files: famez_pci.c (probe and remove, the BARs, the MSI-X vectors and their
 * handler), famez_mailbox.c (the FAME-Z mailbox: our slot, what we say to the server and
 * answer, the configuration it gives us), famez_control.c (the control space), famez_chardev.c
 * (the character device) and famez_sysfs.c (the attributes under the PCI device). This header
 * is what they share; the guest programs' API is include/uapi/linux/famez_bridge.h, the control
 * space's layout include/uapi/linux/famez_bridge_control.h.
 */
#ifndef _FAMEZ_BRIDGE_H
#define _FAMEZ_BRIDGE_H

#include <linux/atomic.h>
#include <linux/bitmap.h>
#include <linux/kref.h>
#include <linux/miscdevice.h>
#include <linux/mutex.h>
#include <linux/rwsem.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include <uapi/linux/famez_bridge.h>
#include <uapi/linux/famez_bridge_control.h>

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
#define FAMEZ_G_FLAGS 40 /* famez's: what the switch does with envelopes */
#define FAMEZ_FLAG_ROUTES BIT_ULL(0)
#define FAMEZ_FLAG_RELAY_ALWAYS BIT_ULL(1)
#define FAMEZ_S_NODENAME 0
#define FAMEZ_S_CCLASS 32
#define FAMEZ_S_MSG_LEN 64
#define FAMEZ_S_PEER_ID 72
#define FAMEZ_S_LAST_RESPONDER 80
#define FAMEZ_S_PEER_SID 88
#define FAMEZ_S_PEER_CID 96
/*
 * famez's, u8, in the envelope's byte 7: the ID the slot's message is for, 0 for anyone (FAME-Z's
 * tools). A ring that comes late finds the sender's next message, for someone else: left alone.
 */
#define FAMEZ_S_ADDRESSEE 111
/*
 * famez's routing envelope, in a slot's bytes 104..127 that FAME-Z leaves as padding: the layout
 * of docs/fabric.md ("Routed messages: the envelope"), the same as famezd's
 * src/shared/envelope.h, which kernel code cannot include. Offsets below are within the
 * envelope; its numbers are little-endian.
 */
#define FAMEZ_S_ENV 104
#define FAMEZ_ENV_SIZE 24
#define FAMEZ_ENV_MAGIC "FZE1"  /* @0, 4 bytes; anything else: no envelope */
#define FAMEZ_ENV_MAGIC_LEN 4
#define FAMEZ_ENV_TYPE 4        /* u8: FAMEZ_ENV_ROUTE .. FAMEZ_ENV_DIRECTED_DELIVER */
#define FAMEZ_ENV_STATUS 5      /* u8: the switch's verdict on a route request */
#define FAMEZ_ENV_HOPS 6        /* u8: links crossed (deliver), at most FAMEZ_ENV_HOPS_MAX */
/* @7: FAMEZ_S_ADDRESSEE, the mailbox's byte, not the envelope's */
#define FAMEZ_ENV_DEST_CID 8    /* u16 */
#define FAMEZ_ENV_DEST_SID 10   /* u16 */
#define FAMEZ_ENV_ORIGIN_CID 12 /* u16: written by the switch (deliver) */
#define FAMEZ_ENV_ORIGIN_SID 14 /* u16: the same */
#define FAMEZ_ENV_RESERVED 16   /* 8 bytes of 0 */
#define FAMEZ_ENV_HOPS_MAX 63   /* a Gen-Z hop count is 6 bits */
/* Directed messages (types 3 and 4) carry a path of ports instead of the hops and the CIDs. */
#define FAMEZ_ENV_PATH_LEN 6    /* u8: 0..FAMEZ_PATH_MAX */
#define FAMEZ_ENV_PATH 8        /* FAMEZ_PATH_MAX bytes, those beyond the length 0 */
#define FAMEZ_PATH_MAX 16
/* Types. */
#define FAMEZ_ENV_ROUTE 1   /* a peer asks its switch to route the text */
#define FAMEZ_ENV_DELIVER 2 /* a switch delivers the text of an origin elsewhere */
#define FAMEZ_ENV_DIRECTED 3 /* a peer asks its switch to relay the text along a path */
/* A switch delivers a directed text; its path is the way back, the ports it came in by. */
#define FAMEZ_ENV_DIRECTED_DELIVER 4
/* Statuses: what the switch made of a route request, written before it frees the slot. */
#define FAMEZ_ENV_PENDING 0
#define FAMEZ_ENV_OK 1
#define FAMEZ_ENV_NO_ROUTE 2
#define FAMEZ_ENV_UNREACHABLE 3
#define FAMEZ_ENV_HOP_LIMIT 4
#define FAMEZ_ENV_NOT_CONFIGURED 5
#define FAMEZ_ENV_MALFORMED 6
#define FAMEZ_ENV_RELAY_DISABLED 7 /* a switch on the way relays nothing (from that port) */
#define FAMEZ_ENV_STATUS_MAX 7
#define FAMEZ_CID_MAX 0xfff /* a Gen-Z CID is 12 bits */
#define FAMEZ_SID_MAX 0xffff
#define FAMEZ_NAME_MAX 32 /* nodename and C-Class, with the NUL */
#define FAMEZ_MSG_MAX 384 /* with the NUL */
#define FAMEZ_CLIENTS_MAX 254
#define FAMEZ_IDS 256
#define FAMEZ_CCLASS "Bridge"

#define FAMEZ_RX_QUEUE 64          /* messages waiting for read() */
#define FAMEZ_TX_QUEUE 16          /* replies waiting for the slot */
#define FAMEZ_TX_TIMEOUT_MS 1000   /* how long a reply waits for the receiver to free our slot */
#define FAMEZ_WRITE_TIMEOUT_MS 5000 /* the same for write(), as FAME-Z's driver waited */

struct famez_vector {
	struct famez_bridge *bridge;
	unsigned int index;
	atomic64_t count;
	struct eventfd_ctx __rcu *eventfd; /* FAMEZ_BRIDGE_IOC_BIND */
	struct file *eventfd_owner;        /* the file that bound it */
};

/* The longest DEST of the text API: "dr:" and 16 ports of 3 digits with their dots. */
#define FAMEZ_DEST_MAX (3 + FAMEZ_PATH_MAX * 4)

/* A message received, as read() returns it: "CID,SID:text" of its sender, or "dr:PATH:text". */
struct famez_rx {
	unsigned int len;
	char text[FAMEZ_DEST_MAX + 1 + FAMEZ_MSG_MAX];
};

/* An open file, for remove() to unmap what it mapped. */
struct famez_opener {
	struct list_head node;
	struct file *file;
};

/* How a message reaches us, or goes: */
enum famez_via {
	FAMEZ_VIA_DIRECT,   /* between two peers of our switch, in the sender's slot */
	FAMEZ_VIA_ROUTED,   /* through the switches, to or from a CID,SID */
	FAMEZ_VIA_DIRECTED, /* through the switches, along a path of ports */
};

/* Who sent a message, or where one goes. */
struct famez_addr {
	enum famez_via via;
	unsigned int id; /* direct: the peer's ID on our switch */
	u16 cid, sid;    /* routed: the origin's, or the destination's */
	u8 path_len;     /* directed: egress ports from our switch on (received: the way back) */
	u8 path[FAMEZ_PATH_MAX];
};

/* A reply the work items send. */
struct famez_tx {
	struct famez_addr to;
	char text[FAMEZ_MSG_MAX];
};

/*
 * The bridge's Gen-Z control space (famez_control.c): its structures' bytes, the masks of what a
 * manager may write in them (built at probe from famez_bridge_control.h), its SSDT and MSDT, the
 * tags of recent requests, and what the switch's Link CTL ACK said of it. Under `lock`.
 */
struct famez_control {
	struct mutex lock;
	u8 core[FAMEZ_CTL_CORE_SIZE];
	u8 cdt[FAMEZ_CTL_CDT_SIZE];
	u8 iface[FAMEZ_CTL_INTERFACE_SIZE];
	u8 core_rw[FAMEZ_CTL_CORE_SIZE];
	u8 cdt_rw[FAMEZ_CTL_CDT_SIZE];
	u8 iface_rw[FAMEZ_CTL_INTERFACE_SIZE];
	__le32 *ssdt, *msdt; /* FAMEZ_CTL_ENTRIES each, as a manager wrote them */
	struct {
		u64 requester;
		u16 tag;
		bool used;
	} tags[FAMEZ_CTL_TAG_WINDOW];
	unsigned int next_tag;
	bool switch_known, switch_ids; /* the switch answered; with a CID and SID */
	u16 switch_cid, switch_sid;
	unsigned int attributes_asked; /* our Peer-Attribute requests to the switch, unanswered */
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

	struct famez_control ctl;

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
	bool verdict_pending;                  /* our slot's route request: verdict not read yet */
	struct famez_tx *tx;                   /* ring of FAMEZ_TX_QUEUE replies */
	unsigned int tx_head, tx_count;
	spinlock_t tx_qlock;
	struct work_struct tx_work;

	atomic64_t sent, received, dropped, malformed, spurious, send_timeouts, deferred;
	atomic64_t routed, route_refused, routed_received, route_missing;
	atomic64_t directed, directed_received;
	atomic64_t control_requests, control_refused;
};

static inline u64 famez_shm_u64(const struct famez_bridge *b, size_t offset)
{
	return le64_to_cpu(READ_ONCE(*(__le64 *)(b->shm + offset)));
}

static inline size_t famez_slot(unsigned int id, size_t field)
{
	return (size_t)id * FAMEZ_SLOT_SIZE + field;
}

/* famez_pci.c */
extern char *famez_nodename;
void famez_ring(struct famez_bridge *b, unsigned int peer, unsigned int vector);
void famez_free(struct kref *ref);
bool famez_enter(struct famez_bridge *b);
void famez_leave(struct famez_bridge *b);

/* famez_mailbox.c */
bool famez_find_mailbox(struct famez_bridge *b);
void famez_set_string(struct famez_bridge *b, unsigned int id, size_t field, const char *value);
int famez_send(struct famez_bridge *b, unsigned int dest, const char *text,
	       unsigned int timeout_ms, bool nonblock);
int famez_send_to(struct famez_bridge *b, const struct famez_addr *to, const char *text,
		  unsigned int timeout_ms, bool nonblock);
__printf(3, 4) void famez_reply(struct famez_bridge *b, const struct famez_addr *to,
				const char *fmt, ...);
void famez_set_ids(struct famez_bridge *b, bool configured, u16 cid, u16 sid);
bool famez_switch_routes(const struct famez_bridge *b);
bool famez_relay_always(const struct famez_bridge *b);
void famez_tx_work(struct work_struct *work);
void famez_rx_work(struct work_struct *work);
void famez_join_fabric(struct famez_bridge *b);

/* famez_control.c; the regions of the control space, in sysfs's order. */
enum famez_region {
	FAMEZ_REGION_CORE,
	FAMEZ_REGION_CDT,
	FAMEZ_REGION_IFACE,
	FAMEZ_REGION_SSDT,
	FAMEZ_REGION_MSDT,
	FAMEZ_REGIONS,
};
int famez_ctl_init(struct famez_bridge *b);
void famez_ctl_free(struct famez_bridge *b);
bool famez_ctl_answer(struct famez_bridge *b, const struct famez_addr *from, const char *text);
void famez_ctl_configure(struct famez_bridge *b, u16 cid, u16 sid, u16 pfm_cid, u16 pfm_sid);
void famez_ctl_ask_switch(struct famez_bridge *b);
bool famez_ctl_switch_answer(struct famez_bridge *b, const char *text);
bool famez_ctl_up(struct famez_bridge *b);
bool famez_ctl_routable(struct famez_bridge *b, u16 cid, u16 sid);
ssize_t famez_ctl_read_region(struct famez_bridge *b, unsigned int region, char *buf,
			      loff_t off, size_t count);
int famez_path_format(char *buf, size_t size, const u8 *path, unsigned int len);

/* famez_chardev.c */
extern const struct file_operations famez_fops;
void famez_set_eventfd(struct famez_vector *v, struct eventfd_ctx *ctx, struct file *owner);
void famez_unmap_all(struct famez_bridge *b);

/* famez_sysfs.c */
extern const struct attribute_group *famez_groups[];
bool famez_name_ok(const char *name, size_t len);

#endif /* _FAMEZ_BRIDGE_H */

/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * famez_bridge: the guest side of a famez fabric (a QEMU ivshmem device), as a character
 * device /dev/famez_bridge_XX (XX: the device's PCI slot, in hex). See famez_bridge(4).
 */
#ifndef _UAPI_LINUX_FAMEZ_BRIDGE_H
#define _UAPI_LINUX_FAMEZ_BRIDGE_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define FAMEZ_BRIDGE_IOC_MAGIC 0xfb

/* The bridge speaks the FAME-Z mailbox (famezd in fabric mode). */
#define FAMEZ_BRIDGE_FABRIC (1u << 0)
/* The device has interrupts (ivshmem-doorbell; ivshmem-plain has none). */
#define FAMEZ_BRIDGE_DOORBELL (1u << 1)

/* Link states (famez_bridge_info.link). */
#define FAMEZ_BRIDGE_LINK_DOWN 0       /* no fabric */
#define FAMEZ_BRIDGE_LINK_UP 1         /* on the fabric, not configured yet */
#define FAMEZ_BRIDGE_LINK_CONFIGURED 2 /* the server's CTL-Write gave us our IDs */

/*
 * FAMEZ_BRIDGE_IOC_INFO: what the bridge is. size is the structure's size as the kernel filled
 * it in: later versions may add fields at the end, never change these.
 */
struct famez_bridge_info {
	__u32 size;
	__u32 flags;      /* FAMEZ_BRIDGE_* */
	__u32 id;         /* our peer ID (IVPOSITION) */
	__u32 server_id;  /* fabric: the server's peer ID; else 0 */
	__u32 vectors;    /* interrupt vectors we listen on */
	__u32 link;       /* FAMEZ_BRIDGE_LINK_* */
	__u64 shm_size;   /* bytes of shared memory (BAR2), mmap()able */
	__u64 cid, sid;   /* fabric: ours, once configured; else 0 */
	__u64 pfm_cid, pfm_sid; /* the fabric manager's, the same */
};

/* FAMEZ_BRIDGE_IOC_RING: rings vector `vector` of peer `peer`. */
struct famez_bridge_ring {
	__u32 peer;   /* 0..65535 */
	__u32 vector; /* 0..255 */
};

/*
 * FAMEZ_BRIDGE_IOC_BIND: signals eventfd `fd` for every interrupt on `vector`, until the file
 * that bound it is closed or binds fd -1 there. One eventfd a vector: EBUSY if another file
 * holds it.
 */
struct famez_bridge_bind {
	__u32 vector;
	__s32 fd;
};

#define FAMEZ_BRIDGE_IOC_INFO _IOR(FAMEZ_BRIDGE_IOC_MAGIC, 1, struct famez_bridge_info)
#define FAMEZ_BRIDGE_IOC_RING _IOW(FAMEZ_BRIDGE_IOC_MAGIC, 2, struct famez_bridge_ring)
#define FAMEZ_BRIDGE_IOC_BIND _IOW(FAMEZ_BRIDGE_IOC_MAGIC, 3, struct famez_bridge_bind)

#endif /* _UAPI_LINUX_FAMEZ_BRIDGE_H */

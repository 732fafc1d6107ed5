/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * famez_bridge: the guest side of a famez fabric (a QEMU ivshmem device), as a character
 * device /dev/famez_bridge_XX (XX: the device's PCI slot, in hex). See famez_bridge(4).
 *
 * Its text API, on a fabric (the FAME-Z mailbox):
 *   write("DEST:TEXT") sends TEXT (1..383 bytes; a trailing newline is not part of it) to DEST:
 *     ID                 a peer of our switch, by its ID
 *     server, switch     our switch itself
 *     CID,SID            the component with those IDs: a peer of our switch whose slot holds
 *                        them, or one the switch routes to (a route request)
 *     dr:P1.P2...        the component at the end of that path of egress ports (1..255, at most
 *                        16), from our switch on, relayed by the switches (a directed request);
 *                        "dr:" alone is our switch itself
 *   A route or directed request returns the switch's verdict: 0 (the byte count) when taken,
 *   EHOSTUNREACH (no route, nothing there, hop limit; or, once a manager configured us, no valid
 *   entry for that CID in our SSDT, or for that SID in our MSDT), ENOTCONN (we have no CID yet),
 *   ENETDOWN (a manager disabled a switch's relay on the way), EIO (a verdict we do not know),
 *   ETIMEDOUT; EINVAL for a dr: path that is none. With O_NONBLOCK, without the verdict.
 *   read() returns "SENDER:TEXT", one message a call: "CID,SID" of the sender (its "ID" while it
 *   has no CID), or "dr:P1.P2..." for a directed message: the way back, to which writing an
 *   answer reaches its sender.
 *
 * The bridge is a Gen-Z component (famez_bridge_control.h): it answers the control requests
 * "CTL-Read Offset=..,Length=..,Tag=.." and "CTL-Write Offset=..,Data=<hex>,Tag=.." itself,
 * back the way they came, and never passes them to read(); their answers to our own requests
 * ("CTL-Read-Response", "Standalone Acknowledgment") are read() like any message.
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
#define FAMEZ_BRIDGE_LINK_CONFIGURED 2 /* we have our IDs (the server's or a manager's) */

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

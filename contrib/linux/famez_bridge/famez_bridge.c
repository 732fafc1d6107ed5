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
 * Everything in the shared memory is written by every peer: it is read once, checked, and
 * never trusted further.
 */

#include <linux/atomic.h>
#include <linux/fs.h>
#include <linux/interrupt.h>
#include <linux/io.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/version.h>

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
#define FAMEZ_S_PEER_ID 72
#define FAMEZ_CLIENTS_MAX 254

static int fabric = -1;
module_param(fabric, int, 0444);
MODULE_PARM_DESC(fabric,
		 "Speak the FAME-Z mailbox: -1 when the shared memory holds one (default), 0 never, 1 always");

struct famez_vector {
	struct famez_bridge *bridge;
	unsigned int index;
	atomic64_t count;
};

struct famez_bridge {
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

static irqreturn_t famez_irq(int irq, void *data)
{
	struct famez_vector *v = data;

	atomic64_inc(&v->count);
	return IRQ_HANDLED;
}

static int famez_setup_vectors(struct famez_bridge *b)
{
	struct pci_dev *pdev = b->pdev;
	unsigned int i;
	int n, r;

	n = pci_msix_vec_count(pdev);
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
	}
	b->n_vectors = n;
	return 0;
}

/* ---- the character device ---- */

static struct famez_bridge *famez_of_file(struct file *file)
{
	struct miscdevice *misc = file->private_data;

	return container_of(misc, struct famez_bridge, misc);
}

static long famez_ioctl_info(struct famez_bridge *b, void __user *arg)
{
	struct famez_bridge_info info = {
		.size = sizeof(info),
		.id = b->id,
		.server_id = b->fabric ? b->server_id : 0,
		.vectors = b->n_vectors,
		.shm_size = b->shm_size,
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
	iowrite32(ring.peer << 16 | ring.vector, b->regs + IVSHMEM_DOORBELL);
	return 0;
}

static long famez_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct famez_bridge *b = famez_of_file(file);

	switch (cmd) {
	case FAMEZ_BRIDGE_IOC_INFO:
		return famez_ioctl_info(b, (void __user *)arg);
	case FAMEZ_BRIDGE_IOC_RING:
		return famez_ioctl_ring(b, (void __user *)arg);
	default:
		return -ENOTTY;
	}
}

/* All of the shared memory, or a part of it, at the offset asked. */
static int famez_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct famez_bridge *b = famez_of_file(file);
	unsigned long len = vma->vm_end - vma->vm_start;
	u64 off = (u64)vma->vm_pgoff << PAGE_SHIFT;

	if (off >= b->shm_size || len > b->shm_size - off)
		return -EINVAL;
	return vm_iomap_memory(vma, b->shm_phys + off, len);
}

static const struct file_operations famez_fops = {
	.owner = THIS_MODULE,
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

static struct attribute *famez_attrs[] = {
	&dev_attr_id.attr,
	&dev_attr_server_id.attr,
	&dev_attr_vectors.attr,
	&dev_attr_fabric.attr,
	&dev_attr_interrupts.attr,
	NULL,
};
ATTRIBUTE_GROUPS(famez);

/* ---- the PCI driver ---- */

static void __iomem *famez_map_regs(struct pci_dev *pdev)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 11, 0)
	return pcim_iomap_region(pdev, IVSHMEM_BAR_REGS, FAMEZ_NAME);
#else
	int r = pcim_iomap_regions(pdev, BIT(IVSHMEM_BAR_REGS), FAMEZ_NAME);

	return r ? IOMEM_ERR_PTR(r) : pcim_iomap_table(pdev)[IVSHMEM_BAR_REGS];
#endif
}

static int famez_probe(struct pci_dev *pdev, const struct pci_device_id *ent)
{
	struct device *dev = &pdev->dev;
	struct famez_bridge *b;
	int r;

	b = devm_kzalloc(dev, sizeof(*b), GFP_KERNEL);
	if (!b)
		return -ENOMEM;
	b->pdev = pdev;
	snprintf(b->name, sizeof(b->name), FAMEZ_NAME "_%02x", PCI_SLOT(pdev->devfn));

	r = pcim_enable_device(pdev);
	if (r)
		return r;
	b->regs = famez_map_regs(pdev);
	if (IS_ERR(b->regs))
		return PTR_ERR(b->regs);

	b->shm_phys = pci_resource_start(pdev, IVSHMEM_BAR_SHM);
	b->shm_size = pci_resource_len(pdev, IVSHMEM_BAR_SHM);
	if (!b->shm_size)
		return dev_err_probe(dev, -ENODEV, "no shared memory (BAR2)\n");
	if (!devm_request_mem_region(dev, b->shm_phys, b->shm_size, b->name))
		return -EBUSY;
	/* RAM on the host side: cached, never uncached. */
	b->shm = devm_memremap(dev, b->shm_phys, b->shm_size, MEMREMAP_WB);
	if (IS_ERR(b->shm))
		return PTR_ERR(b->shm);

	b->id = ioread32(b->regs + IVSHMEM_IVPOSITION);
	r = famez_setup_vectors(b);
	if (r)
		return dev_err_probe(dev, r, "cannot take the interrupt vectors\n");

	b->fabric = fabric == 1 || (fabric < 0 && famez_find_mailbox(b));
	if (b->fabric && !b->server_id) {
		b->fabric = false;
		dev_warn(dev, "fabric=1, but the shared memory holds no FAME-Z mailbox for us\n");
	}
	pci_set_drvdata(pdev, b);

	b->misc.minor = MISC_DYNAMIC_MINOR;
	b->misc.name = b->name;
	b->misc.fops = &famez_fops;
	b->misc.parent = dev;
	r = misc_register(&b->misc);
	if (r)
		return r;
	dev_info(dev, "%s: peer %u, %u vectors, %llu bytes of shared memory%s\n", b->name, b->id,
		 b->n_vectors, (unsigned long long)b->shm_size,
		 b->fabric ? ", FAME-Z mailbox" : "");
	return 0;
}

static void famez_remove(struct pci_dev *pdev)
{
	struct famez_bridge *b = pci_get_drvdata(pdev);

	misc_deregister(&b->misc);
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

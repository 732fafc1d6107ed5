// SPDX-License-Identifier: GPL-2.0
/*
 * famez_bridge: the PCI driver. Probe and remove, the registers (BAR0) and shared memory (BAR2)
 * of an ivshmem device, its MSI-X vectors and their interrupt handler.
 */

#include <linux/eventfd.h>
#include <linux/interrupt.h>
#include <linux/io.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/version.h>

#include "famez_bridge.h"

static int fabric = -1;
module_param(fabric, int, 0444);
MODULE_PARM_DESC(fabric,
		 "Speak the FAME-Z mailbox: -1 if the shared memory holds one (default), 0 never, 1 warn if not");

/* Read by famez_join_fabric(); the parameter keeps its name. */
char *famez_nodename;
module_param_named(nodename, famez_nodename, charp, 0444);
MODULE_PARM_DESC(nodename, "Our nodename in the mailbox (default: <hostname>.<PCI slot>)");

void famez_ring(struct famez_bridge *b, unsigned int peer, unsigned int vector)
{
	iowrite32(peer << 16 | vector, b->regs + IVSHMEM_DOORBELL);
}

/* The last reference is gone: probe() holds one until remove(), every open file one. */
void famez_free(struct kref *ref)
{
	struct famez_bridge *b = container_of(ref, struct famez_bridge, ref);

	famez_ctl_free(b);
	kfree(b->rx);
	kfree(b->tx);
	kfree(b);
}

/* Takes `alive` for reading: false (nothing may be touched) once the device is gone. */
bool famez_enter(struct famez_bridge *b)
{
	down_read(&b->alive);
	if (!b->stopping)
		return true;
	up_read(&b->alive);
	return false;
}

void famez_leave(struct famez_bridge *b)
{
	up_read(&b->alive);
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
	/* Before any interrupt: a peer's message may be a control request. */
	r = famez_ctl_init(b);
	if (r)
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

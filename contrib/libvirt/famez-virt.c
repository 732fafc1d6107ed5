/* SPDX-License-Identifier: MIT */
/*
 * famez-virt: gives libvirt domains their FAME-Z fabric device.
 *   famez-virt inject [FILE|-]    domain XML in, the same with the device out
 *   famez-virt remove [FILE|-]    the reverse
 *   famez-virt attach DOMAIN      through libvirt, on a defined domain (--switch NAME: that switch)
 *   famez-virt detach DOMAIN
 *   famez-virt list               which domains are attached
 */
#include <errno.h>
#include <getopt.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>

#include "famez-virt-xml.h"
#include "size.h"
#include "switch-config.h"

#define DEFAULT_SOCKET "/run/famez/famez.sock"
#define DEFAULT_VECTORS 16 /* famezd's default fabric: 14 client slots + 2 */

enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2 };

static const char *arg_connect = "qemu:///system";
static const char *arg_socket;
static const char *arg_switch; /* NULL: the default switch */
static unsigned arg_vectors;
static const char *arg_fam;
static uint64_t arg_fam_size;
static bool arg_native, arg_verbose;
static char socket_buf[4096];

static void die_quietly(void *data, virErrorPtr e)
{
	(void)data, (void)e; /* reported by us, in one line */
}

static int libvirt_error(const char *what)
{
	const char *msg = virGetLastErrorMessage();

	fprintf(stderr, "famez-virt: %s: %s\n", what, msg ? msg : "unknown libvirt error");
	return EXIT_FAILED;
}

/*
 * The socket and vectors of the famezd running on the system bus, if one answers: of its
 * default switch (Server1 at /org/famez), or of the switch --switch names. 0, or -errno with
 * why in *why (to free).
 */
static int ask_famezd(char **why)
{
	const char *object = "/org/famez", *interface = "org.famez.Server1";
	char switch_object[64];
	sd_bus *bus = NULL;
	sd_bus_error error = SD_BUS_ERROR_NULL;
	char *path = NULL;
	uint32_t vectors = 0;
	int r;

	if (arg_switch) {
		snprintf(switch_object, sizeof(switch_object), "/org/famez/switch/%s", arg_switch);
		object = switch_object;
		interface = "org.famez.Switch1";
	}
	r = sd_bus_open_system(&bus);
	if (r >= 0)
		r = sd_bus_get_property_string(bus, "org.famez", object, interface, "SocketPath",
					       &error, &path);
	if (r >= 0)
		r = sd_bus_get_property_trivial(bus, "org.famez", object, interface, "Vectors",
						&error, 'u', &vectors);
	if (r >= 0) {
		snprintf(socket_buf, sizeof(socket_buf), "%s", path);
		if (!arg_socket)
			arg_socket = socket_buf;
		if (!arg_vectors)
			arg_vectors = vectors;
	} else if (sd_bus_error_has_names(&error, SD_BUS_ERROR_UNKNOWN_OBJECT,
					  SD_BUS_ERROR_UNKNOWN_INTERFACE))
		*why = strdup("famezd has no such switch; 'famezctl switches' lists them");
	else
		*why = strdup(error.message ? error.message : strerror(-r));
	free(path);
	sd_bus_error_free(&error);
	sd_bus_flush_close_unref(bus);
	return r < 0 ? r : 0;
}

/*
 * Options first, then the running famezd, then the built-in defaults; -v says which. With
 * --switch, the switch's own socket and vectors or nothing: a default would be another
 * switch's. 0, or -errno after saying why.
 */
static int settle_defaults(void)
{
	const char *from = "the options";
	char *why = NULL;

	if (!arg_socket || !arg_vectors) {
		if (ask_famezd(&why) >= 0)
			from = arg_switch ? "the switch of famezd on the system bus"
					  : "famezd on the system bus";
		else if (arg_switch) {
			fprintf(stderr,
				"famez-virt: cannot read switch %s from famezd on the system bus: "
				"%s\n",
				arg_switch, why ? why : "out of memory");
			free(why);
			return -ENOENT;
		} else
			from = "the built-in defaults";
		free(why);
	}
	if (!arg_socket)
		arg_socket = DEFAULT_SOCKET;
	if (!arg_vectors)
		arg_vectors = DEFAULT_VECTORS;
	if (arg_verbose)
		fprintf(stderr, "famez-virt: socket %s, %u vectors (from %s)\n", arg_socket,
			arg_vectors, from);
	return 0;
}

static char *read_all(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "re");
	char *buf = NULL;
	size_t size = 0;
	FILE *mem;
	char chunk[65536];
	size_t n;

	if (!f) {
		fprintf(stderr, "famez-virt: cannot read %s: %s\n", path, strerror(errno));
		return NULL;
	}
	mem = open_memstream(&buf, &size);
	while (mem && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		fwrite(chunk, 1, n, mem);
	if (f != stdin)
		fclose(f);
	if (!mem || fclose(mem) != 0)
		return NULL;
	*len = size;
	return buf;
}

static FamezVirtConfig config(void)
{
	return (FamezVirtConfig){
		.socket_path = arg_socket,
		.vectors = arg_vectors,
		.fam_path = arg_fam,
		.fam_size = arg_fam_size,
		.native = arg_native,
	};
}

/* inject/remove on a file or standard input, to standard output. */
static int cmd_file(bool inject, const char *path)
{
	FamezVirtConfig c;
	char *xml, *out = NULL, *error = NULL;
	size_t len;
	int r;

	if (inject && settle_defaults() < 0)
		return EXIT_FAILED;
	xml = read_all(path, &len);
	if (!xml)
		return EXIT_FAILED;
	c = config();
	r = inject ? famez_virt_inject(xml, len, &c, &out, &error)
		   : famez_virt_remove(xml, len, &out, &error);
	free(xml);
	if (r < 0) {
		fprintf(stderr, "famez-virt: %s: %s\n", strcmp(path, "-") ? path : "standard input",
			error ? error : strerror(-r));
		free(error);
		return EXIT_FAILED;
	}
	fputs(out, stdout);
	free(out);
	return EXIT_OK;
}

/* attach/detach: the inactive definition, changed, defined back. */
static int cmd_domain(bool attach, const char *name)
{
	virConnectPtr conn = NULL;
	virDomainPtr dom = NULL, defined = NULL;
	char *xml = NULL, *out = NULL, *error = NULL;
	FamezVirtConfig c;
	int r, status = EXIT_FAILED;

	if (attach && settle_defaults() < 0)
		return EXIT_FAILED;
	conn = virConnectOpen(arg_connect);
	if (!conn)
		return libvirt_error(arg_connect);
	dom = virDomainLookupByName(conn, name);
	if (!dom) {
		fprintf(stderr, "famez-virt: no domain '%s' on %s\n", name, arg_connect);
		goto out;
	}
	xml = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE);
	if (!xml) {
		libvirt_error(name);
		goto out;
	}
	c = config();
	r = attach ? famez_virt_inject(xml, strlen(xml), &c, &out, &error)
		   : famez_virt_remove(xml, strlen(xml), &out, &error);
	if (r < 0) {
		fprintf(stderr, "famez-virt: %s: %s\n", name, error ? error : strerror(-r));
		goto out;
	}
	defined = virDomainDefineXML(conn, out);
	if (!defined) {
		libvirt_error(name);
		goto out;
	}
	if (attach)
		printf("%s: attached to the fabric%s%s at %s (%u vectors)%s\n", name,
		       arg_switch ? ", switch " : "", arg_switch ? arg_switch : "", arg_socket,
		       arg_vectors,
		       virDomainIsActive(dom) == 1 ? "; it takes effect at the next start" : "");
	else
		printf("%s: detached from the fabric%s\n", name,
		       virDomainIsActive(dom) == 1 ? "; it takes effect at the next start" : "");
	status = EXIT_OK;
out:
	free(xml);
	free(out);
	free(error);
	if (defined)
		virDomainFree(defined);
	if (dom)
		virDomainFree(dom);
	virConnectClose(conn);
	return status;
}

static int cmd_list(void)
{
	virConnectPtr conn = virConnectOpen(arg_connect);
	virDomainPtr *doms = NULL;
	int n;

	if (!conn)
		return libvirt_error(arg_connect);
	n = virConnectListAllDomains(conn, &doms, 0);
	if (n < 0) {
		virConnectClose(conn);
		return libvirt_error("cannot list the domains");
	}
	printf("%-24s %-9s %-8s %-40s %s\n", "DOMAIN", "ATTACHED", "FORM", "SOCKET", "VECTORS");
	for (int i = 0; i < n; i++) {
		char *xml = virDomainGetXMLDesc(doms[i], VIR_DOMAIN_XML_INACTIVE);
		char *error = NULL;
		FamezVirtInfo info;

		if (xml && famez_virt_inspect(xml, strlen(xml), &info, &error) == 0) {
			if (info.attached)
				printf("%-24s %-9s %-8s %-40s %u\n", virDomainGetName(doms[i]),
				       "yes", info.native ? "shmem" : "qemu-arg", info.socket_path,
				       info.vectors);
			else
				printf("%-24s %-9s %-8s %-40s %s\n", virDomainGetName(doms[i]),
				       "no", "-", "-", "-");
		}
		free(xml);
		free(error);
		virDomainFree(doms[i]);
	}
	free(doms);
	virConnectClose(conn);
	return EXIT_OK;
}

static void help(void)
{
	printf("Usage: famez-virt [OPTIONS] COMMAND [ARG]\n"
	       "\n"
	       "Give libvirt domains the FAME-Z fabric device (an ivshmem-doorbell connected to\n"
	       "famezd), or take it away.\n"
	       "\n"
	       "Commands:\n"
	       "  inject [FILE|-]     print domain XML with the device added\n"
	       "                      (famez-virt inject dom.xml | virsh define /dev/stdin)\n"
	       "  remove [FILE|-]     print domain XML without what famez-virt added\n"
	       "  attach DOMAIN       add the device to a defined domain\n"
	       "                      (famez-virt attach web01 --switch lab)\n"
	       "  detach DOMAIN       take it out again\n"
	       "  list                which domains are attached\n"
	       "\n"
	       "Options:\n"
	       "  -c, --connect=URI   libvirt connection (default qemu:///system)\n"
	       "      --switch=NAME   take the socket and vectors of famezd's switch NAME\n"
	       "                      (default: its default switch)\n"
	       "  -S, --socket=PATH   famezd's socket (default: the running famezd's, else\n"
	       "                      " DEFAULT_SOCKET ")\n"
	       "  -n, --vectors=N     the device's vectors (default: the running famezd's, else "
	       "%d)\n"
	       "      --fam=PATH      also map PATH as fabric-attached memory (ivshmem-plain)\n"
	       "      --fam-size=SIZE its size, a power of two (K/M/G/T)\n"
	       "      --native        use libvirt's <shmem> element, not a qemu:commandline\n"
	       "  -v, --verbose       say where the socket and vectors came from\n"
	       "  -h, --help          show this help\n"
	       "      --version       show the version\n"
	       "\n"
	       "See famez-virt(1).\n",
	       DEFAULT_VECTORS);
}

int main(int argc, char *argv[])
{
	enum { ARG_FAM = 0x100, ARG_FAM_SIZE, ARG_NATIVE, ARG_SWITCH, ARG_VERSION };
	static const struct option options[] = {
		{ "connect", required_argument, NULL, 'c' },
		{ "switch", required_argument, NULL, ARG_SWITCH },
		{ "socket", required_argument, NULL, 'S' },
		{ "vectors", required_argument, NULL, 'n' },
		{ "fam", required_argument, NULL, ARG_FAM },
		{ "fam-size", required_argument, NULL, ARG_FAM_SIZE },
		{ "native", no_argument, NULL, ARG_NATIVE },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, ARG_VERSION },
		{},
	};
	const char *command;
	uint64_t v;
	int opt;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":c:S:n:vh", options, NULL)) >= 0) {
		switch (opt) {
		case 'c':
			arg_connect = optarg;
			break;
		case 'S':
			arg_socket = optarg;
			break;
		case ARG_SWITCH:
			if (!switch_name_is_valid(optarg)) {
				fprintf(stderr,
					"famez-virt: --switch %s is not a switch name (1 to %d "
					"letters, digits or _)\n",
					optarg, SWITCH_NAME_MAX);
				return EXIT_USAGE;
			}
			arg_switch = optarg;
			break;
		case 'n':
			if (parse_uint(optarg, 1, 2048, &v) < 0) {
				fprintf(stderr,
					"famez-virt: --vectors %s is not a number from 1 to "
					"2048\n",
					optarg);
				return EXIT_USAGE;
			}
			arg_vectors = (unsigned)v;
			break;
		case ARG_FAM:
			arg_fam = optarg;
			break;
		case ARG_FAM_SIZE:
			if (parse_size(optarg, &arg_fam_size) < 0 || !size_is_pow2(arg_fam_size)) {
				char below[SIZE_STR_MAX], above[SIZE_STR_MAX];

				if (parse_size(optarg, &v) == 0)
					fprintf(stderr,
						"famez-virt: --fam-size %s is not a power of two; "
						"try %s or %s\n",
						optarg, format_size(size_pow2_below(v), below),
						format_size(size_pow2_above(v), above));
				else
					fprintf(stderr, "famez-virt: --fam-size %s is not a size\n",
						optarg);
				return EXIT_USAGE;
			}
			break;
		case ARG_NATIVE:
			arg_native = true;
			break;
		case 'v':
			arg_verbose = true;
			break;
		case 'h':
			help();
			return EXIT_OK;
		case ARG_VERSION:
			printf("famez-virt %s\n", FAMEZ_VERSION);
			return EXIT_OK;
		case ':':
			fprintf(stderr, "famez-virt: option '%s' needs an argument\n",
				argv[optind - 1]);
			return EXIT_USAGE;
		default:
			fprintf(stderr,
				"famez-virt: unknown option '%s'; try 'famez-virt --help'\n",
				argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "famez-virt: give a command; try 'famez-virt --help'\n");
		return EXIT_USAGE;
	}
	if (arg_fam && !arg_fam_size) {
		fprintf(stderr, "famez-virt: --fam needs --fam-size\n");
		return EXIT_USAGE;
	}
	virSetErrorFunc(NULL, die_quietly);
	command = argv[optind++];
	if ((strcmp(command, "inject") == 0 || strcmp(command, "remove") == 0) &&
	    argc - optind <= 1)
		return cmd_file(strcmp(command, "inject") == 0, optind < argc ? argv[optind] : "-");
	if ((strcmp(command, "attach") == 0 || strcmp(command, "detach") == 0) &&
	    argc - optind == 1)
		return cmd_domain(strcmp(command, "attach") == 0, argv[optind]);
	if (strcmp(command, "list") == 0 && optind == argc)
		return cmd_list();
	fprintf(stderr,
		"famez-virt: unknown command or wrong arguments: '%s'; try 'famez-virt "
		"--help'\n",
		command);
	return EXIT_USAGE;
}

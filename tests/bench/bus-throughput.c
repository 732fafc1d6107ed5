/* SPDX-License-Identifier: MIT */
/*
 * bus-throughput: method calls per second from one client to famezd over D-Bus:
 * org.famez.Server1.SendInterrupt(PEER, 0, false) next to a no-op org.freedesktop.DBus.Peer.Ping
 * to the same service, measured in the same run, one call at a time.
 * Usage: bus-throughput [--user] PEER [CALLS]
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>

#include "time-util.h"

static double rate(sd_bus *bus, unsigned n, const char *interface, const char *method,
		   const char *types, unsigned peer)
{
	uint64_t start = now_usec(CLOCK_MONOTONIC);

	for (unsigned i = 0; i < n; i++) {
		sd_bus_error error = SD_BUS_ERROR_NULL;
		int r = types ? sd_bus_call_method(bus, "org.famez", "/org/famez", interface,
						   method, &error, NULL, types, (uint16_t)peer, 0u,
						   0)
			      : sd_bus_call_method(bus, "org.famez", "/org/famez", interface,
						   method, &error, NULL, NULL);

		if (r < 0) {
			fprintf(stderr, "bus-throughput: %s: %s\n", method,
				error.message ? error.message : strerror(-r));
			exit(1);
		}
		sd_bus_error_free(&error);
	}
	return n * 1e6 / (double)(now_usec(CLOCK_MONOTONIC) - start);
}

int main(int argc, char *argv[])
{
	bool user = argc > 1 && strcmp(argv[1], "--user") == 0;
	unsigned peer, n;
	sd_bus *bus;
	double ping, interrupt;

	if (argc < 2 + user) {
		fprintf(stderr, "usage: bus-throughput [--user] PEER [CALLS]\n");
		return 2;
	}
	peer = (unsigned)atoi(argv[1 + user]);
	n = argc > 2 + user ? (unsigned)atoi(argv[2 + user]) : 20000;
	if ((user ? sd_bus_open_user(&bus) : sd_bus_open_system(&bus)) < 0) {
		fprintf(stderr, "bus-throughput: cannot connect to the bus\n");
		return 1;
	}
	/* Warm up both paths, then alternate halves so drift hits both alike. */
	rate(bus, n / 10 + 1, "org.freedesktop.DBus.Peer", "Ping", NULL, peer);
	rate(bus, n / 10 + 1, "org.famez.Server1", "SendInterrupt", "qub", peer);
	ping = (rate(bus, n / 2, "org.freedesktop.DBus.Peer", "Ping", NULL, peer) +
		rate(bus, n / 2, "org.freedesktop.DBus.Peer", "Ping", NULL, peer)) /
	       2;
	interrupt = (rate(bus, n / 2, "org.famez.Server1", "SendInterrupt", "qub", peer) +
		     rate(bus, n / 2, "org.famez.Server1", "SendInterrupt", "qub", peer)) /
		    2;
	printf("calls %u\nping_calls_per_sec %.0f\nsend_interrupt_calls_per_sec %.0f\n"
	       "ratio_send_interrupt_to_ping %.2f\n",
	       n, ping, interrupt, interrupt / ping);
	sd_bus_flush_close_unref(bus);
	return 0;
}

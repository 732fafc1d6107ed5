/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>

/*
 * The socket famezd listens on and clients connect to by default: /run/famez/famez.sock for
 * root (and for anyone without $XDG_RUNTIME_DIR), else $XDG_RUNTIME_DIR/famez/famez.sock.
 */
const char *famez_default_socket_path(void);

/*
 * The socket of switch name when its configuration gives none: the default path for the
 * default switch, NAME.sock beside it for the others (as famez-switch@NAME.socket has it).
 * 0, or -ENAMETOOLONG.
 */
int famez_switch_socket_path(const char *name, char *buf, size_t size);

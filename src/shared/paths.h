/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The socket famezd listens on and clients connect to by default: /run/famez/famez.sock for
 * root (and for anyone without $XDG_RUNTIME_DIR), else $XDG_RUNTIME_DIR/famez/famez.sock.
 */
const char *famez_default_socket_path(void);

/*
 * The daemon: `vayla serve`. N worker threads, each with its own libevent
 * event_base running an evhttp server (api.h) and its own connections to
 * the security server (upstream.h); one audit writer thread (auditq.h)
 * that group-commits the records of every worker; the main thread only
 * handles signals, reloads and systemd notifications.
 *
 * Configuration generations (gen.h): SIGHUP loads a new one and posts it
 * to every worker; a worker switches between requests. Listening sockets
 * are never closed by a reload, so no connection is dropped.
 *
 * This module owns the workers, the listeners, the connection accounting
 * and the life cycle; requests belong to api.c and connections to the
 * security server to upstream.c, which reach the worker only through the
 * interfaces they define.
 */
#ifndef VAYLA_SERVER_H
#define VAYLA_SERVER_H

/*
 * Run the daemon until SIGTERM/SIGINT and a drain. Returns the process
 * exit status (0 after a clean drain, 1 on start-up failure).
 */
int adp_server_run(const char *config_path, const char *ready_file);

#endif

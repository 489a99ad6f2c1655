/*
 * mailer - sendmail(1) by fork and execve.  See mailer.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mailer.h"
#include "xalloc.h"

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* In the child: never returns. */
static _Noreturn void
child(const char *sendmail, const char *sender, const char *rcpt,
    int in_fd, int out_fd)
{
	char *const argv[] = { (char *)"sendmail", (char *)"-f",
	    (char *)sender, (char *)"-i", (char *)"--", (char *)rcpt, NULL };
	char *const envp[] = { (char *)"PATH=/usr/sbin:/usr/bin:/sbin:/bin",
	    NULL };
	sigset_t none;
	int fd;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0)
		_exit(127);
	/* Database, curl and listening sockets stay with recalld. */
#ifdef SYS_close_range
	if (syscall(SYS_close_range, 3U, ~0U, 0U) < 0)
#endif
		for (fd = 3; fd < 1024; fd++)
			close(fd);
	execve(sendmail, argv, envp);
	dprintf(2, "cannot execute %s: %s\n", sendmail, strerror(errno));
	_exit(127);
}

int
mailer_send(const char *sendmail, const char *sender, const char *rcpt,
    const char *msg, size_t len, char **error_r)
{
	int in[2], out[2], status = 0;
	char diag[512];
	size_t off = 0, dlen = 0;
	long deadline = now_ms() + MAILER_TIMEOUT_S * 1000L;
	bool out_open = true, timed_out = false;
	pid_t pid;

	if (pipe2(in, O_CLOEXEC) < 0) {
		*error_r = xasprintf("pipe: %s", strerror(errno));
		return -1;
	}
	if (pipe2(out, O_CLOEXEC) < 0) {
		*error_r = xasprintf("pipe: %s", strerror(errno));
		close(in[0]);
		close(in[1]);
		return -1;
	}
	if ((pid = fork()) < 0) {
		*error_r = xasprintf("fork: %s", strerror(errno));
		close(in[0]);
		close(in[1]);
		close(out[0]);
		close(out[1]);
		return -1;
	}
	if (pid == 0)
		child(sendmail, sender, rcpt, in[0], out[1]);
	close(in[0]);
	close(out[1]);
	fcntl(in[1], F_SETFL, O_NONBLOCK);
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	/* Feed stdin and drain the output together: neither side can block. */
	while (in[1] >= 0 || out_open) {
		struct pollfd p[2];
		nfds_t n = 0;
		int in_i = -1, out_i = -1;
		long left = deadline - now_ms();

		if (left <= 0) {
			timed_out = true;
			break;
		}
		if (in[1] >= 0) {
			p[n].fd = in[1];
			p[n].events = POLLOUT;
			in_i = (int)n++;
		}
		if (out_open) {
			p[n].fd = out[0];
			p[n].events = POLLIN;
			out_i = (int)n++;
		}
		if (poll(p, n, (int)left) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (in_i >= 0 && p[in_i].revents != 0) {
			ssize_t w = write(in[1], msg + off, len - off);

			if (w > 0)
				off += (size_t)w;
			if ((w < 0 && errno != EAGAIN && errno != EINTR)
			    || off == len) {
				close(in[1]);	/* EPIPE: it will say why */
				in[1] = -1;
			}
		}
		if (out_i >= 0 && p[out_i].revents != 0) {
			char buf[512];
			ssize_t r = read(out[0], buf, sizeof(buf));

			if (r > 0) {
				size_t k = (size_t)r;

				if (k > sizeof(diag) - 1 - dlen)
					k = sizeof(diag) - 1 - dlen;
				memcpy(diag + dlen, buf, k);
				dlen += k;
			} else if (r == 0 || (errno != EAGAIN
			    && errno != EINTR)) {
				out_open = false;
			}
		}
	}
	if (in[1] >= 0)
		close(in[1]);
	close(out[0]);
	if (timed_out)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	diag[dlen] = '\0';
	diag[strcspn(diag, "\r\n")] = '\0';
	if (timed_out) {
		*error_r = xasprintf("%s did not finish within %d s", sendmail,
		    MAILER_TIMEOUT_S);
		return -1;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status))
		*error_r = xasprintf("%s exited with status %d%s%s", sendmail,
		    WEXITSTATUS(status), dlen > 0 ? ": " : "", diag);
	else
		*error_r = xasprintf("%s was killed by signal %d", sendmail,
		    WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	return -1;
}

/*
 * NAME
 *	policy-load - load generator of the Postfix policy protocol
 * SYNOPSIS
 *	policy-load -p port [-c conns] [-t seconds] [-m members] [-l list]
 *		[-r rate]
 *	policy-load -p port -i conns -t seconds
 * DESCRIPTION
 *	Opens conns persistent connections to 127.0.0.1:port and keeps
 *	one request in flight on each (as many smtpd processes do), for
 *	the given time. The requests are a mix like a list server sees:
 *	half to other recipients, a third from list members
 *	(member0@example.org ... member<members-1>@example.org) to the
 *	list address, the rest from non-members to it; each request is
 *	its own message (its own instance). Prints one line:
 *
 *		requests=N seconds=S rps=R p50_ms=A p99_ms=B max_ms=C errors=E
 *
 *	Without -r every connection sends its next request as soon as the
 *	answer is in (the most the server can do: latency is then mostly
 *	queueing). With -r the connections together send rate requests
 *	per second, each on its own schedule, as smtpd processes of a busy
 *	server would; the latency is then the server's response time.
 *
 *	With -i it opens conns idle connections, holds them for the time
 *	and closes them (for measuring the server's memory).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#define LAT_BUCKETS 100000	/* 10 us steps up to 1 s */

struct conn {
	int fd;
	char out[1024];
	size_t out_len, out_pos;
	char in[4096];
	size_t in_len;
	double sent_at;
	double next_at;		/* -r: when to send the next request */
	int waiting;		/* -r: answered, next one not sent yet */
};

static unsigned long long lat_hist[LAT_BUCKETS + 1];
static unsigned long long n_done, n_errors, serial;
static unsigned int n_members = 1000;
static const char *list_addr = "forum@lists.test";

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int connect_to(int port)
{
	struct sockaddr_in sin;
	int fd = socket(AF_INET, SOCK_STREAM, 0), on = 1;

	if (fd < 0) {
		perror("socket");
		exit(1);
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		perror("connect");
		exit(1);
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	return fd;
}

/* next_request - the next request of the mix into c->out */
static void next_request(struct conn *c)
{
	unsigned long long n = ++serial;
	unsigned int kind = (unsigned int)(n % 6);
	char sender[128], rcpt[128];

	if (kind < 3) {
		snprintf(sender, sizeof(sender), "user%llu@example.net", n % 5000);
		snprintf(rcpt, sizeof(rcpt), "someone%llu@example.com", n % 777);
	} else if (kind < 5) {
		snprintf(sender, sizeof(sender), "member%llu@example.org",
			 (n * 7919) % n_members);
		snprintf(rcpt, sizeof(rcpt), "%s", list_addr);
	} else {
		snprintf(sender, sizeof(sender), "stranger%llu@example.com",
			 n % 10000);
		snprintf(rcpt, sizeof(rcpt), "%s", list_addr);
	}
	c->out_len = (size_t)snprintf(c->out, sizeof(c->out),
		"request=smtpd_access_policy\nprotocol_state=RCPT\n"
		"protocol_name=ESMTP\nclient_address=192.0.2.%llu\n"
		"client_name=mx%llu.example.net\nhelo_name=mx.example.net\n"
		"sender=%s\nrecipient=%s\nrecipient_count=0\n"
		"queue_id=\ninstance=%llx.%llx.0\nsize=0\n\n",
		n % 250 + 1, n % 250, sender, rcpt, n, n * 31);
	c->out_pos = 0;
	c->sent_at = now();
}

static void flush_out(struct conn *c)
{
	while (c->out_pos < c->out_len) {
		ssize_t n = write(c->fd, c->out + c->out_pos,
				  c->out_len - c->out_pos);
		if (n < 0) {
			if (errno == EAGAIN)
				return;
			perror("write");
			exit(1);
		}
		c->out_pos += (size_t)n;
	}
}

int main(int argc, char **argv)
{
	int port = 0, conns = 100, opt, idle = 0, ep;
	double seconds = 5, start, end, rate = 0, interval = 0;
	struct conn *cs;
	struct epoll_event ev, events[256];

	while ((opt = getopt(argc, argv, "p:c:t:m:l:i:r:")) != -1) {
		switch (opt) {
		case 'p': port = atoi(optarg); break;
		case 'c': conns = atoi(optarg); break;
		case 't': seconds = atof(optarg); break;
		case 'm': n_members = (unsigned int)atoi(optarg); break;
		case 'l': list_addr = optarg; break;
		case 'i': idle = 1; conns = atoi(optarg); break;
		case 'r': rate = atof(optarg); break;
		default:
			fprintf(stderr, "usage: policy-load -p port [-c conns] "
				"[-t seconds] [-m members] [-l list] [-i idle]\n");
			return 64;
		}
	}
	if (port <= 0 || conns <= 0 || n_members == 0)
		return 64;
	cs = calloc((size_t)conns, sizeof(*cs));
	for (int i = 0; i < conns; i++)
		cs[i].fd = connect_to(port);
	if (idle) {
		printf("idle=%d\n", conns);
		fflush(stdout);
		usleep((useconds_t)(seconds * 1e6));
		return 0;
	}
	ep = epoll_create1(0);
	for (int i = 0; i < conns; i++) {
		fcntl(cs[i].fd, F_SETFL, O_NONBLOCK);
		ev.events = EPOLLIN;
		ev.data.ptr = &cs[i];
		epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
	}
	start = now();
	end = start + seconds;
	if (rate > 0)
		interval = conns / rate;
	for (int i = 0; i < conns; i++) {
		if (rate > 0) {
			/* spread the first requests over one interval */
			cs[i].waiting = 1;
			cs[i].next_at = start + interval * i / conns;
			continue;
		}
		next_request(&cs[i]);
		flush_out(&cs[i]);
	}
	while (now() < end) {
		int timeout = 100, n;

		if (rate > 0) {
			/* Send what is due, then sleep until the next one is
			   (rounded up to the next millisecond: epoll_wait
			   counts in those). No busy polling: the generator
			   must leave the CPU to the server it measures. */
			double t = now(), due = end;
			for (int i = 0; i < conns; i++) {
				if (cs[i].waiting && t >= cs[i].next_at) {
					cs[i].waiting = 0;
					next_request(&cs[i]);
					flush_out(&cs[i]);
				}
				if (cs[i].waiting && cs[i].next_at < due)
					due = cs[i].next_at;
			}
			timeout = due <= t ? 0 : (int)((due - t) * 1e3) + 1;
			if (timeout > 100)
				timeout = 100;
		}
		n = epoll_wait(ep, events, 256, timeout);
		for (int i = 0; i < n; i++) {
			struct conn *c = events[i].data.ptr;
			ssize_t r = read(c->fd, c->in + c->in_len,
					 sizeof(c->in) - c->in_len - 1);
			char *eoa;

			if (r <= 0) {
				if (r < 0 && errno == EAGAIN)
					continue;
				fprintf(stderr, "server closed a connection\n");
				return 1;
			}
			c->in_len += (size_t)r;
			c->in[c->in_len] = '\0';
			while ((eoa = strstr(c->in, "\n\n")) != NULL) {
				double lat = now() - c->sent_at;
				size_t b = (size_t)(lat * 1e5);
				size_t used = (size_t)(eoa + 2 - c->in);

				if (strncmp(c->in, "action=", 7) != 0)
					n_errors++;
				lat_hist[b > LAT_BUCKETS ? LAT_BUCKETS : b]++;
				n_done++;
				memmove(c->in, c->in + used, c->in_len - used + 1);
				c->in_len -= used;
				if (rate > 0) {
					c->waiting = 1;
					c->next_at += interval;
					continue;
				}
				next_request(c);
				flush_out(c);
			}
		}
	}
	{
		double elapsed = now() - start;
		unsigned long long acc = 0, p50 = 0, p99 = 0, mx = 0;
		for (size_t b = 0; b <= LAT_BUCKETS; b++) {
			if (lat_hist[b] == 0)
				continue;
			acc += lat_hist[b];
			if (p50 == 0 && acc * 2 >= n_done)
				p50 = b + 1;
			if (p99 == 0 && acc * 100 >= n_done * 99)
				p99 = b + 1;
			mx = b + 1;
		}
		printf("requests=%llu seconds=%.2f rps=%.0f p50_ms=%.2f "
		       "p99_ms=%.2f max_ms=%.2f errors=%llu\n", n_done, elapsed,
		       (double)n_done / elapsed, (double)p50 / 100.0,
		       (double)p99 / 100.0, (double)mx / 100.0, n_errors);
	}
	return 0;
}

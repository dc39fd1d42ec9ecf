// strata_delay_proxy: a TCP proxy for benchmarks that puts a metadata engine "at a distance"
// (issue 10) and counts the round trips that cross it.
//
//   strata_delay_proxy --target HOST:PORT [--listen PORT] [--rtt-us N] [--stats FILE]
//
// Every chunk read from one side is forwarded to the other side rtt/2 later (each direction
// delays by half the round-trip time), in order, per connection. A round trip ("turn") is
// counted each time a client sends after the server last spoke on that connection (or for the
// first time): one request/reply exchange, however many bytes, as a client that waits for each
// reply pays it. On start it prints "listening PORT" on stdout. On SIGUSR1 (and at SIGTERM
// exit) it writes "turns N connections N up_bytes N down_bytes N" to --stats (or stdout).
// One thread, epoll; a benchmark tool, not part of the file system.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <string>

namespace {

volatile sig_atomic_t g_dump = 0;
volatile sig_atomic_t g_stop = 0;

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct Chunk {
  int64_t due_us;
  std::string data;
};

struct Side {
  int fd = -1;
  std::deque<Chunk> out;  // to be written to fd, each when due
  size_t written = 0;     // bytes of out.front() already written
};

struct Pair {
  Side client, server;
  bool awaiting_request = true;
};

struct Stats {
  uint64_t turns = 0, connections = 0, up = 0, down = 0;
};

void SetNonBlocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }
void NoDelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

void Dump(const Stats& s, const char* path) {
  FILE* f = path ? std::fopen(path, "w") : stdout;
  if (!f) return;
  std::fprintf(f, "turns %llu connections %llu up_bytes %llu down_bytes %llu\n",
               (unsigned long long)s.turns, (unsigned long long)s.connections,
               (unsigned long long)s.up, (unsigned long long)s.down);
  if (path) std::fclose(f); else std::fflush(f);
}

int Usage() {
  std::fprintf(stderr,
               "usage: strata_delay_proxy --target HOST:PORT [--listen PORT] [--rtt-us N] "
               "[--stats FILE]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string target;
  int listen_port = 0;
  long rtt_us = 0;
  const char* stats_path = nullptr;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (i + 1 >= argc) return Usage();
    if (a == "--target") target = argv[++i];
    else if (a == "--listen") listen_port = std::atoi(argv[++i]);
    else if (a == "--rtt-us") rtt_us = std::atol(argv[++i]);
    else if (a == "--stats") stats_path = argv[++i];
    else return Usage();
  }
  auto colon = target.rfind(':');
  if (target.empty() || colon == std::string::npos || rtt_us < 0) return Usage();
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(static_cast<uint16_t>(std::atoi(target.c_str() + colon + 1)));
  if (inet_pton(AF_INET, target.substr(0, colon).c_str(), &dst.sin_addr) != 1) {
    std::fprintf(stderr, "strata_delay_proxy: target must be IPv4:PORT, got %s\n", target.c_str());
    return 2;
  }
  const int64_t half = rtt_us / 2;

  int lfd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in la{};
  la.sin_family = AF_INET;
  la.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  la.sin_port = htons(static_cast<uint16_t>(listen_port));
  if (bind(lfd, reinterpret_cast<sockaddr*>(&la), sizeof(la)) != 0 || listen(lfd, 512) != 0) {
    std::perror("strata_delay_proxy: listen");
    return 1;
  }
  socklen_t len = sizeof(la);
  getsockname(lfd, reinterpret_cast<sockaddr*>(&la), &len);
  std::printf("listening %d\n", ntohs(la.sin_port));
  std::fflush(stdout);
  SetNonBlocking(lfd);

  signal(SIGPIPE, SIG_IGN);
  struct sigaction sa{};
  sa.sa_handler = [](int) { g_dump = 1; };
  sigaction(SIGUSR1, &sa, nullptr);
  sa.sa_handler = [](int) { g_stop = 1; };
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);

  int ep = epoll_create1(0);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = lfd;
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
  int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
  ev.data.fd = tfd;
  epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);
  std::map<int, std::shared_ptr<Pair>> by_fd;
  Stats stats;

  auto close_pair = [&](const std::shared_ptr<Pair>& p) {
    for (Side* s : {&p->client, &p->server}) {
      if (s->fd >= 0) {
        epoll_ctl(ep, EPOLL_CTL_DEL, s->fd, nullptr);
        close(s->fd);
        by_fd.erase(s->fd);
        s->fd = -1;
      }
    }
  };
  // Writes what is due on `s`; false when the connection failed.
  auto flush = [&](Side& s, int64_t now) {
    while (!s.out.empty() && s.out.front().due_us <= now) {
      Chunk& c = s.out.front();
      ssize_t n = write(s.fd, c.data.data() + s.written, c.data.size() - s.written);
      if (n < 0) return errno == EAGAIN;
      s.written += static_cast<size_t>(n);
      if (s.written < c.data.size()) return true;
      s.out.pop_front();
      s.written = 0;
    }
    return true;
  };

  char buf[65536];
  while (!g_stop) {
    if (g_dump) {
      g_dump = 0;
      Dump(stats, stats_path);
    }
    int64_t now = NowUs();
    int64_t next = -1;
    for (auto& [fd, p] : by_fd) {
      for (Side* s : {&p->client, &p->server}) {
        if (!s->out.empty()) {
          int64_t d = s->out.front().due_us;
          if (next < 0 || d < next) next = d;
        }
      }
    }
    // A timerfd wakes the loop at the next due time with microsecond precision.
    itimerspec its{};
    if (next >= 0) {
      int64_t wait = std::max<int64_t>(1, next - now);
      its.it_value.tv_sec = wait / 1000000;
      its.it_value.tv_nsec = (wait % 1000000) * 1000;
    }
    timerfd_settime(tfd, 0, &its, nullptr);
    epoll_event evs[128];
    int n = epoll_wait(ep, evs, 128, 100);
    now = NowUs();
    for (int i = 0; i < n; i++) {
      int fd = evs[i].data.fd;
      if (fd == tfd) {
        uint64_t expirations;
        (void)!read(tfd, &expirations, sizeof(expirations));
        continue;
      }
      if (fd == lfd) {
        while (true) {
          int c = accept(lfd, nullptr, nullptr);
          if (c < 0) break;
          int s = socket(AF_INET, SOCK_STREAM, 0);
          if (connect(s, reinterpret_cast<sockaddr*>(&dst), sizeof(dst)) != 0) {
            close(c);
            close(s);
            continue;
          }
          NoDelay(c);
          NoDelay(s);
          SetNonBlocking(c);
          SetNonBlocking(s);
          auto p = std::make_shared<Pair>();
          p->client.fd = c;
          p->server.fd = s;
          by_fd[c] = p;
          by_fd[s] = p;
          for (int f : {c, s}) {
            epoll_event e{};
            e.events = EPOLLIN;
            e.data.fd = f;
            epoll_ctl(ep, EPOLL_CTL_ADD, f, &e);
          }
          stats.connections++;
        }
        continue;
      }
      auto it = by_fd.find(fd);
      if (it == by_fd.end()) continue;
      std::shared_ptr<Pair> p = it->second;
      const bool from_client = fd == p->client.fd;
      Side& to = from_client ? p->server : p->client;
      ssize_t r = read(fd, buf, sizeof(buf));
      if (r <= 0) {
        if (r < 0 && errno == EAGAIN) continue;
        close_pair(p);
        continue;
      }
      if (from_client) {
        if (p->awaiting_request) stats.turns++;
        p->awaiting_request = false;
        stats.up += static_cast<uint64_t>(r);
      } else {
        p->awaiting_request = true;
        stats.down += static_cast<uint64_t>(r);
      }
      to.out.push_back(Chunk{now + half, std::string(buf, static_cast<size_t>(r))});
    }
    std::deque<std::shared_ptr<Pair>> broken;
    for (auto& [fd, p] : by_fd) {
      if (fd != p->client.fd) continue;
      if (!flush(p->client, now) || !flush(p->server, now)) broken.push_back(p);
    }
    for (auto& p : broken) close_pair(p);
  }
  Dump(stats, stats_path);
  return 0;
}

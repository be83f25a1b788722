#include "samsa/net/tcp_connect.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace samsa::net {

int start_tcp_connect(const Endpoint& to, bool& in_progress) {
  in_progress = false;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(to.port);
  if (::getaddrinfo(to.host.c_str(), port.c_str(), &hints, &found) != 0 || !found) return -1;
  const int fd = ::socket(found->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    ::freeaddrinfo(found);
    return -1;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  const int rc = ::connect(fd, found->ai_addr, found->ai_addrlen);
  const int err = errno;
  ::freeaddrinfo(found);
  if (rc != 0 && err != EINPROGRESS) {
    ::close(fd);
    return -1;
  }
  in_progress = rc != 0;
  return fd;
}

}  // namespace samsa::net

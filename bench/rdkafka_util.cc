#include "rdkafka_util.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <thread>

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace samsa::bench {

rd_kafka_conf_t* make_conf(const CommonOptions& o,
                           const std::vector<std::pair<std::string, std::string>>& base) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  auto set = [&](const std::string& k, const std::string& v) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      throw BenchError(kExitUsage, "librdkafka property " + k + "=" + v + ": " + err);
    }
  };
  set("bootstrap.servers", o.bootstrap);
  // Keep librdkafka quiet about idle disconnects; errors still show.
  set("log.connection.close", "false");
  for (const auto& [k, v] : base) set(k, v);
  for (const auto& kv : o.props) {
    const auto [k, v] = parse_property(kv);
    set(k, v);
  }
  return conf;
}

KafkaHandle make_client(rd_kafka_type_t type, rd_kafka_conf_t* conf) {
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof err);
  if (!rk) {
    rd_kafka_conf_destroy(conf);
    throw BenchError(kExitUsage, std::string("rd_kafka_new: ") + err);
  }
  return KafkaHandle(rk);
}

int ms_left(uint64_t deadline_ns, int min_ms) {
  const uint64_t now = now_ns();
  const int64_t left = now >= deadline_ns ? 0 : static_cast<int64_t>((deadline_ns - now) / 1000000);
  return static_cast<int>(std::clamp<int64_t>(left, min_ms, 1 << 30));
}

void create_topic(rd_kafka_t* rk, const std::string& topic, int partitions, int rf,
                  int timeout_ms) {
  char err[512];
  rd_kafka_NewTopic_t* nt =
      rd_kafka_NewTopic_new(topic.c_str(), partitions, rf, err, sizeof err);
  if (!nt) throw BenchError(kExitUsage, std::string("NewTopic: ") + err);
  rd_kafka_AdminOptions_t* ao = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_request_timeout(ao, timeout_ms, err, sizeof err);
  rd_kafka_AdminOptions_set_operation_timeout(ao, timeout_ms, err, sizeof err);
  rd_kafka_queue_t* q = rd_kafka_queue_new(rk);
  rd_kafka_CreateTopics(rk, &nt, 1, ao, q);
  rd_kafka_AdminOptions_destroy(ao);
  rd_kafka_NewTopic_destroy(nt);

  // The admin request has its own timeout; wait a little longer for it.
  rd_kafka_event_t* ev = rd_kafka_queue_poll(q, timeout_ms + 5000);
  rd_kafka_queue_destroy(q);
  if (!ev) throw BenchError(kExitUnavailable, "CreateTopics: no result within the timeout");
  std::string failure;
  if (rd_kafka_event_error(ev)) {
    failure = std::string("CreateTopics failed: ") + rd_kafka_event_error_string(ev);
  } else if (const auto* res = rd_kafka_event_CreateTopics_result(ev)) {
    size_t n = 0;
    const rd_kafka_topic_result_t** topics = rd_kafka_CreateTopics_result_topics(res, &n);
    for (size_t i = 0; i < n; ++i) {
      const rd_kafka_resp_err_t e = rd_kafka_topic_result_error(topics[i]);
      if (e == RD_KAFKA_RESP_ERR_NO_ERROR || e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) continue;
      const char* msg = rd_kafka_topic_result_error_string(topics[i]);
      failure = std::string("CreateTopics(") + rd_kafka_topic_result_name(topics[i]) +
                ") failed: " + rd_kafka_err2name(e) + (msg ? std::string(": ") + msg : "");
    }
  } else {
    failure = "CreateTopics: unexpected event type";
  }
  rd_kafka_event_destroy(ev);
  if (!failure.empty()) throw BenchError(kExitUnavailable, failure);
}

std::vector<int32_t> wait_for_partitions(rd_kafka_t* rk, const std::string& topic,
                                         int timeout_ms) {
  const uint64_t deadline = now_ns() + static_cast<uint64_t>(timeout_ms) * 1000000;
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  std::string last = "no metadata response";
  for (;;) {
    const rd_kafka_metadata_t* md = nullptr;
    const rd_kafka_resp_err_t e =
        rd_kafka_metadata(rk, 0, rkt, &md, std::max(ms_left(deadline, 1), 1));
    std::vector<int32_t> ids;
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      last = std::string("metadata request failed: ") + rd_kafka_err2str(e);
    } else {
      for (int t = 0; t < md->topic_cnt; ++t) {
        const rd_kafka_metadata_topic_t& mt = md->topics[t];
        if (topic != mt.topic) continue;
        if (mt.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
          last = std::string("topic ") + topic + ": " + rd_kafka_err2name(mt.err);
          continue;
        }
        bool all_led = true;
        for (int p = 0; p < mt.partition_cnt; ++p) {
          ids.push_back(mt.partitions[p].id);
          all_led = all_led && mt.partitions[p].leader >= 0;
        }
        if (!all_led) {
          last = std::string("topic ") + topic + " has partitions without a leader";
          ids.clear();
        } else if (ids.empty()) {
          last = std::string("topic ") + topic + " has no partitions";
        }
      }
      rd_kafka_metadata_destroy(md);
    }
    if (!ids.empty()) {
      rd_kafka_topic_destroy(rkt);
      std::sort(ids.begin(), ids.end());
      return ids;
    }
    if (now_ns() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  rd_kafka_topic_destroy(rkt);
  throw BenchError(kExitUnavailable, last);
}

namespace {

// Reads or writes exactly n bytes before deadline_ns; false on error/timeout.
bool io_all(int fd, uint8_t* buf, size_t n, bool write, uint64_t deadline_ns) {
  while (n > 0) {
    pollfd pfd{fd, static_cast<short>(write ? POLLOUT : POLLIN), 0};
    const int left = ms_left(deadline_ns);
    if (left <= 0 || ::poll(&pfd, 1, left) <= 0) return false;
    const ssize_t r = write ? ::send(fd, buf, n, MSG_NOSIGNAL) : ::recv(fd, buf, n, 0);
    if (r <= 0) return false;
    buf += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

}  // namespace

void require_apis(const std::string& bootstrap, const std::vector<ApiNeed>& needs,
                  int timeout_ms) {
  std::string server = bootstrap.substr(0, bootstrap.find(','));
  if (const auto scheme = server.find("://"); scheme != std::string::npos)
    server = server.substr(scheme + 3);
  const auto colon = server.rfind(':');
  if (colon == std::string::npos) throw BenchError(kExitUsage, "bad bootstrap server " + server);
  std::string host = server.substr(0, colon);
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  const std::string port = server.substr(colon + 1);

  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), port.c_str(), &hints, &res) != 0 || !res)
    throw BenchError(kExitUnavailable, "cannot resolve " + server);
  const int fd = ::socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  const uint64_t deadline = now_ns() + static_cast<uint64_t>(timeout_ms) * 1000000;
  bool connected = fd >= 0 && (::connect(fd, res->ai_addr, res->ai_addrlen) == 0 || errno == EINPROGRESS);
  freeaddrinfo(res);
  if (connected) {
    pollfd pfd{fd, POLLOUT, 0};
    int soerr = 0;
    socklen_t len = sizeof soerr;
    connected = ::poll(&pfd, 1, ms_left(deadline)) == 1 &&
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 && soerr == 0;
  }
  if (!connected) {
    if (fd >= 0) ::close(fd);
    throw BenchError(kExitUnavailable, "cannot connect to " + server);
  }
  constexpr int32_t kCorrelation = 0x5a5a;
  std::vector<uint8_t> req = encode_api_versions_request(kCorrelation, "samsa-bench");
  uint8_t size_buf[4];
  std::vector<uint8_t> body;
  bool ok = io_all(fd, req.data(), req.size(), true, deadline) &&
            io_all(fd, size_buf, 4, false, deadline);
  if (ok) {
    const uint32_t size = (uint32_t{size_buf[0]} << 24) | (uint32_t{size_buf[1]} << 16) |
                          (uint32_t{size_buf[2]} << 8) | size_buf[3];
    ok = size <= (1u << 20);
    if (ok) {
      body.resize(size);
      ok = io_all(fd, body.data(), body.size(), false, deadline);
    }
  }
  ::close(fd);
  if (!ok) throw BenchError(kExitUnavailable, "no ApiVersions answer from " + server);
  const auto apis = parse_api_versions_response(body.data(), body.size(), kCorrelation);
  if (!apis) {
    std::fprintf(stderr, "warning: could not parse the ApiVersions answer of %s\n", server.c_str());
    return;
  }
  const std::string missing = missing_api(*apis, needs);
  if (!missing.empty()) throw BenchError(kExitUnavailable, missing);
}

}  // namespace samsa::bench

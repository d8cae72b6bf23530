#pragma once

// A fixed number of keep-alive HTTP/1.1 connections on one io_context (one
// thread), fed from a FIFO queue: each idle connection takes the next
// request. Used by al-loadgen for the Twilio webhooks of every call and by
// al-webload for fixed-concurrency load. Not thread-safe: call from the
// io_context's thread.

#include "bench/bench_util.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/verb.hpp>

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace al::bench {

struct http_result {
  int status = 0; // 0: no response (connect/read error, timeout)
  std::string body;
  std::string error;
  std::int64_t latency_us = 0;
};

struct http_job {
  boost::beast::http::verb method = boost::beast::http::verb::post;
  std::string target;
  std::string body;
  std::string content_type = "application/x-www-form-urlencoded";
  std::vector<std::pair<std::string, std::string>> headers;
  /// Latency is measured from here when set (open-loop load: includes the
  /// wait for a free connection), else from the moment the write starts.
  std::optional<clock::time_point> scheduled;
  std::function<void(http_result&)> done;
};

class http_pool {
public:
  http_pool(boost::asio::io_context& ioc,
            boost::asio::ip::tcp::endpoint endpoint, int connections);
  ~http_pool();

  void submit(http_job job);

  /// Requests queued or in flight.
  std::size_t outstanding() const noexcept {
    return queue_.size() + busy_;
  }

  /// Closes every connection (after the outstanding requests, if any, are
  /// abandoned).
  void close();

private:
  struct conn;
  void pump();

  boost::asio::io_context& ioc_;
  boost::asio::ip::tcp::endpoint endpoint_;
  std::string host_;
  std::deque<http_job> queue_;
  std::vector<std::shared_ptr<conn>> conns_;
  std::size_t busy_ = 0;
  bool closed_ = false;
};

} // namespace al::bench

#include "transport/http_types.hpp"

#include "core/json.hpp"

#include <boost/asio/post.hpp>
#include <boost/beast/core/string.hpp>

#include <utility>

namespace al {

void post_to_session(const request& req, std::function<void()> fn) {
  if (!req.executor)
    return fn();
  net::post(req.executor, std::move(fn));
}

std::string_view request::header(http::field f) const {
  auto i = msg.find(f);
  if (i == msg.end())
    return {};
  return i->value();
}

std::string_view request::header(std::string_view name) const {
  auto i = msg.find(name);
  if (i == msg.end())
    return {};
  return i->value();
}

bool body_stream::push(std::string chunk) {
  std::function<void()> wake;
  {
    std::lock_guard<std::mutex> guard{mu_};
    if (closed_ || abandoned_)
      return false;
    if (queued_.size() + chunk.size() > queue_limit) {
      // The reader stopped reading: end the response instead of growing.
      queued_.clear();
      closed_ = true;
    } else {
      queued_ += chunk;
    }
    if (wake_ && !woken_) {
      woken_ = true;
      wake = wake_;
    }
  }
  if (wake)
    wake();
  std::lock_guard<std::mutex> guard{mu_};
  return !closed_ && !abandoned_;
}

void body_stream::close() {
  std::function<void()> wake;
  {
    std::lock_guard<std::mutex> guard{mu_};
    if (closed_ || abandoned_)
      return;
    closed_ = true;
    if (wake_ && !woken_) {
      woken_ = true;
      wake = wake_;
    }
  }
  if (wake)
    wake();
}

bool body_stream::closed() const {
  std::lock_guard<std::mutex> guard{mu_};
  return closed_ || abandoned_;
}

void body_stream::bind(std::function<void()> wake) {
  std::lock_guard<std::mutex> guard{mu_};
  wake_ = std::move(wake);
  woken_ = false;
}

std::string body_stream::take(bool& finished) {
  std::lock_guard<std::mutex> guard{mu_};
  woken_ = false;
  finished = closed_ || abandoned_;
  return std::exchange(queued_, {});
}

void body_stream::abandon() {
  std::lock_guard<std::mutex> guard{mu_};
  abandoned_ = true;
  queued_.clear();
  wake_ = nullptr; // it holds the connection's executor
}

responder::responder(sink s)
  : state_(std::make_shared<state>()) {
  state_->fn = std::move(s);
}

void responder::operator()(http_response res) const {
  if (!state_ || state_->done.exchange(true))
    return;
  state_->fn(std::move(res));
}

bool responder::answered() const noexcept {
  return state_ && state_->done.load();
}

http_response make_response(http::status status, std::string body,
                            std::string_view content_type) {
  http_response res{status, 11};
  if (!content_type.empty())
    res.set(http::field::content_type, content_type);
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

http_response error_response(http::status status, std::string_view msg) {
  return json_response(status, json_error(msg));
}

http_response empty_response(http::status status) {
  http_response res{status, 11};
  res.prepare_payload();
  return res;
}

} // namespace al

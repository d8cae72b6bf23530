#include "transport/http_types.hpp"

#include "core/json.hpp"

#include <boost/beast/core/string.hpp>

namespace al {

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

responder::responder(sink s) : state_(std::make_shared<state>()) {
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

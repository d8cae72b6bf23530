#include "transport/server.hpp"

#include "transport/http_session.hpp"

#include "core/thread_role.hpp"

#include <boost/asio/post.hpp>

#include <spdlog/spdlog.h>

#include <future>

namespace al {

server::server(const dispatcher& d, int io_threads, std::string thread_name,
               bool media)
  : dispatcher_(d)
  , acceptor_([&]() -> net::io_context& {
    for (int i = 0; i < std::max(1, io_threads); ++i)
      slots_.push_back(std::make_unique<io_slot>());
    return slots_.front()->ioc;
  }())
  , thread_name_(std::move(thread_name))
  , media_(media) {}

server::~server() {
  stop();
}

std::uint16_t server::listen(const std::string& address, std::uint16_t port) {
  tcp::endpoint ep{net::ip::make_address(address), port};
  acceptor_.open(ep.protocol());
  acceptor_.set_option(net::socket_base::reuse_address(true));
  acceptor_.bind(ep);
  acceptor_.listen(net::socket_base::max_listen_connections);
  accepting_ = true;
  do_accept();
  return acceptor_.local_endpoint().port();
}

void server::start() {
  if (started_)
    return;
  started_ = true;
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    auto* s = slots_[i].get();
    auto name = thread_name_ + "-" + std::to_string(i);
    s->thread = std::thread([s, name, media = media_] {
      thread_role::name(name.c_str());
      if (!media)
        thread_role::run_as_worker();
      auto guard = net::make_work_guard(s->ioc);
      for (;;) {
        try {
          s->ioc.run();
          break;
        } catch (const std::exception& e) {
          // A handler threw: log and keep serving the other connections.
          try {
            spdlog::error("io thread caught: {}", e.what());
          } catch (...) {
          }
        }
      }
    });
  }
}

// Accept the next connection onto the next io_context (round robin).
void server::do_accept() {
  auto* slot = slots_[next_slot_++ % slots_.size()].get();
  acceptor_.async_accept(slot->ioc, [this, slot](beast::error_code ec,
                                                 tcp::socket socket) {
    on_accept(slot, ec, std::move(socket));
  });
}

void server::on_accept(io_slot* slot, beast::error_code ec,
                       tcp::socket socket) {
  if (!accepting_)
    return;
  if (!ec) {
    socket.set_option(tcp::no_delay(true), ec);
    net::post(slot->ioc, [this, slot, s = std::move(socket)]() mutable {
      std::make_shared<http_session>(std::move(s), dispatcher_, slot->sessions)
        ->run();
    });
  } else if (ec != net::error::operation_aborted) {
    spdlog::warn("accept: {}", ec.message());
  }
  do_accept();
}

void server::stop_accepting() {
  if (!accepting_.exchange(false))
    return;
  net::post(acceptor_.get_executor(), [this] {
    beast::error_code ec;
    acceptor_.close(ec);
  });
}

void server::drain() {
  for (auto& slot : slots_) {
    auto* s = slot.get();
    net::post(s->ioc, [s] { s->sessions.drain_all(); });
  }
}

std::size_t server::connections() {
  std::size_t total = 0;
  for (auto& slot : slots_) {
    auto* s = slot.get();
    if (!started_ || s->ioc.stopped()) {
      total += s->sessions.size();
      continue;
    }
    auto p = std::make_shared<std::promise<std::size_t>>();
    auto f = p->get_future();
    net::post(s->ioc, [s, p] { p->set_value(s->sessions.size()); });
    if (f.wait_for(std::chrono::seconds(1)) == std::future_status::ready)
      total += f.get();
  }
  return total;
}

server::io_slot* server::slot_of(const net::any_io_executor& ex) {
  for (auto& slot : slots_)
    if (ex == net::any_io_executor{slot->ioc.get_executor()})
      return slot.get();
  return nullptr;
}

void server::stop() {
  accepting_ = false;
  for (auto& slot : slots_)
    slot->ioc.stop();
  for (auto& slot : slots_)
    if (slot->thread.joinable())
      slot->thread.join();
}

} // namespace al

#pragma once

// A loopback port that refuses connections for as long as the object lives:
// a TCP socket bound to 127.0.0.1:0 (without SO_REUSEADDR) that never
// listens. Holding it keeps the kernel from handing the same port to anyone
// else -- e.g. the service under test binding port 0 -- so a test that
// wants "connection refused" cannot end up talking to another server.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <string>

namespace al::test {

class closed_port {
public:
  closed_port()
    : socket_(ioc_) {
    socket_.open(boost::asio::ip::tcp::v4());
    socket_.bind({boost::asio::ip::make_address("127.0.0.1"), 0});
  }
  closed_port(const closed_port&) = delete;
  closed_port& operator=(const closed_port&) = delete;

  unsigned short port() const {
    return socket_.local_endpoint().port();
  }

  /// "127.0.0.1:PORT"
  std::string host_port() const {
    return "127.0.0.1:" + std::to_string(port());
  }

private:
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::socket socket_;
};

} // namespace al::test

#pragma once

// Namespace aliases only (as in Beast's examples), so that no .cpp spells
// boost::beast::websocket:: in full.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/error.hpp>

// Declared here so the aliases below need no heavy headers.
namespace boost::beast::http {}
namespace boost::beast::websocket {}
namespace boost::asio::ssl {}

namespace al {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;

} // namespace al

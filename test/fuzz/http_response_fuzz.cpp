// libFuzzer target: the transport's response path. A loopback server in the same
// io_context accepts the client's connections, reads each request, writes the fuzz input as
// its whole answer and closes; fedora::http::client reads it with its real code (pool,
// Beast parser with the client's header and body limits, chunked framing, keep-alive
// decision, error mapping).
//
// Byte 0 chooses per-call options: bit 0 HEAD instead of GET; bits 1-2 the body limit
// (client default 64 KiB, 16, 1024, 1 byte); bits 3-5 write the answer in pieces of
// 1, 3, 7 or 64 bytes (the first 4 KiB; partial reads, split chunk headers) instead of at
// once. The rest is the answer.
//
// Checked on every input: the completion runs exactly once; a failure is a typed
// fedora::errc with a message; a success has a valid status and respects the body limit;
// nothing hangs (each call has a 5 s deadline; libFuzzer's -timeout catches the rest);
// and afterwards the pool holds no connection.
#include <fedora/http/client.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

[[noreturn]] void fail(const char* what, const std::string& detail = {})
{
    std::fprintf(stderr, "http_response_fuzz: %s %s\n", what, detail.c_str());
    std::abort();
}

struct fixture
{
    asio::io_context ioc;
    tcp::acceptor acceptor{ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
    fedora::http::client client{ioc.get_executor(), [] {
                                    fedora::http::client_params p;
                                    p.default_timeout = std::chrono::seconds(5);
                                    p.header_limit = 8 * 1024;
                                    p.body_limit = 64 * 1024;
                                    // A connection never goes back to the pool: each input
                                    // gets a fresh one, and the pool must end empty.
                                    p.pool.max_requests_per_connection = 1;
                                    p.tls.use_system_ca_store = false;
                                    return p;
                                }()};
    std::string url = "http://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()) + "/fuzz";
};

// Answers one connection with the input: reads the request, writes the answer, closes.
asio::awaitable<void> answer_one(tcp::socket socket, std::shared_ptr<const std::string> answer, std::size_t piece)
{
    std::string request;
    auto [rec, n] = co_await asio::async_read_until(socket, asio::dynamic_buffer(request, 64 * 1024), "\r\n\r\n",
                                                    nothrow);
    if (rec)
        co_return;
    // Small pieces for the first 4 KiB (status line, headers, chunk headers split across
    // reads), the rest at once: byte-by-byte writes of a 60 KB seed would cost a second.
    for (std::size_t at = 0; at < answer->size();) {
        const std::size_t n = at < 4096 ? std::min(piece, answer->size() - at) : answer->size() - at;
        auto [wec, w] = co_await asio::async_write(socket, asio::buffer(answer->data() + at, n), nothrow);
        if (wec)
            co_return;
        at += n;
    }
    fedora::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_send, ignored);
    // Wait for the client to close (drains the socket so the close is never a reset).
    char sink[512];
    for (;;) {
        auto [dec, d] = co_await socket.async_read_some(asio::buffer(sink), nothrow);
        if (dec)
            break;
    }
}

// Every connection gets the same answer, until the call completes and cancels the accept.
// A redirect to this origin opens a second connection: answered once, a connection the
// server never accepted kept each following input waiting for its deadline on the one the
// last input left in the backlog.
asio::awaitable<void> serve(tcp::acceptor& acceptor, std::string answer, std::size_t piece)
{
    auto shared = std::make_shared<const std::string>(std::move(answer));
    for (;;) {
        auto [aec, socket] = co_await acceptor.async_accept(nothrow);
        if (aec)
            co_return;
        asio::co_spawn(acceptor.get_executor(), answer_one(std::move(socket), shared, piece), asio::detached);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    static fixture fx;
    if (size < 1)
        return 0;
    const std::uint8_t flags = data[0];
    static constexpr std::uint64_t limits[] = {0, 16, 1024, 1};
    static constexpr std::size_t pieces[] = {1 << 20, 1, 7, 64, 1 << 20, 3, 1 << 20, 1 << 20};
    std::string answer(reinterpret_cast<const char*>(data) + 1, size - 1);

    fedora::http::request req;
    req.method = (flags & 1) ? fedora::http::verb::head : fedora::http::verb::get;
    req.url = boost::urls::url(fx.url);
    req.body_limit = limits[(flags >> 1) & 3];
    const std::uint64_t limit = req.body_limit ? req.body_limit : fx.client.params().body_limit;

    int completions = 0;
    asio::co_spawn(fx.ioc, serve(fx.acceptor, std::move(answer), pieces[(flags >> 3) & 7]), asio::detached);
    fx.client.async_send(std::move(req), [&](fedora::error_code ec, fedora::http::response resp) {
        ++completions;
        // The server accepts until the call is over (a redirect connects again).
        fx.acceptor.cancel();
        if (ec) {
            if (ec.category() != fedora::error_category())
                fail("untyped error", ec.message());
            if (resp.diag.message.empty())
                fail("error without a message", ec.message());
            return;
        }
        if (resp.status() < 100 || resp.status() > 999)
            fail("invalid status accepted", std::to_string(resp.status()));
        if (resp.body().size() > limit)
            fail("body limit not enforced", std::to_string(resp.body().size()));
    });
    fx.ioc.restart();
    fx.ioc.run();
    if (completions != 1)
        fail("completion count", std::to_string(completions));
    auto stats = fx.client.stats();
    for (const auto& o : stats.origins)
        if (o.idle != 0 || o.in_use != 0 || o.waiting != 0)
            fail("pool not empty after the call");
    return 0;
}

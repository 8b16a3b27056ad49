// Helpers shared by the reliability and security tests (TLS matrix, hostile input,
// malformed answers, secrets, checklist numbers): a non-throwing one-call runner, a
// temporary directory for generated CA files, and a scripted raw TCP server that answers
// each connection with canned bytes.
#pragma once

#include "support.hpp"

#include <fedora/bodhi/client.hpp>
#include <fedora/emulator/bodhi.hpp>
#include <fedora/emulator/certificates.hpp>
#include <fedora/fas/types.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

#include <atomic>
#include <filesystem>
#include <functional>
#include <mutex>
#include <thread>

namespace rel {

namespace asio = boost::asio;
namespace http = fedora::http;
namespace bhttp = boost::beast::http;
namespace emu = fedora::emulator;
namespace fas = fedora::fas;
namespace bodhi = fedora::bodhi;
using fedora::errc;
using namespace std::chrono_literals;

struct outcome
{
    fedora::error_code ec;
    http::response resp;
    double seconds = 0;
};

// Bodhi 2 (at /bodhi) and its OpenID provider (at /id), each on an emulator server of its
// own, as Fedora ran them, over `updates` generated updates.
struct bodhi2_site
{
    explicit bodhi2_site(std::size_t updates)
        : data(std::make_shared<fedora::emulator::bodhi_data>(fedora::emulator::bodhi_data_params{.updates = updates})),
          app(std::make_shared<fedora::emulator::bodhi2_application>(data))
    {
        bodhi.mount("/bodhi", app);
        bodhi.start();
        provider.mount("/id", std::make_shared<fedora::emulator::openid_provider_application>(data));
        provider.start();
        app->set_openid_endpoint(provider.origin() + "/id/openid/");
    }

    // Where a client finds both; the version is left to detection.
    fedora::bodhi::client_params client_params() const
    {
        fedora::bodhi::client_params p;
        p.base_url = bodhi.origin() + "/bodhi/";
        p.openid_api_url = provider.origin() + "/id/api/v1/";
        return p;
    }

    std::shared_ptr<fedora::emulator::bodhi_data> data;
    std::shared_ptr<fedora::emulator::bodhi2_application> app;
    fedora::emulator::server bodhi, provider;
};

inline outcome send_one(asio::io_context& ioc, http::client& c, http::request r)
{
    outcome out;
    const auto t0 = std::chrono::steady_clock::now();
    c.async_send(std::move(r), [&](fedora::error_code ec, http::response resp) {
        out.ec = ec;
        out.resp = std::move(resp);
    });
    ioc.restart();
    ioc.run();
    out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return out;
}

inline http::request post(const std::string& url, std::string body, bool safe = false)
{
    http::request r;
    r.method = http::verb::post;
    r.url = boost::urls::url(url);
    r.headers.set(boost::beast::http::field::content_type, "application/x-www-form-urlencoded");
    r.body = std::move(body);
    r.safe_to_repeat = safe;
    return r;
}

// A fresh directory under /tmp, removed with the object.
struct temp_dir
{
    std::filesystem::path path;
    temp_dir()
    {
        std::string templ = (std::filesystem::temp_directory_path() / "fc-rel-XXXXXX").string();
        if (!::mkdtemp(templ.data()))
            throw std::runtime_error("mkdtemp");
        path = templ;
    }
    ~temp_dir()
    {
        std::error_code ignored;
        std::filesystem::remove_all(path, ignored);
    }
    // Writes a PEM file and returns its path.
    std::string write(const std::string& name, const std::string& text) const
    {
        auto p = (path / name).string();
        fedora::emulator::write_file(p, text, false);
        return p;
    }
};

// What the raw server does with one request: write `bytes`, then either keep reading
// requests on the connection (so that a client that wrongly reuses it is seen), close it,
// or (stall) write nothing more and wait for the peer to go.
struct raw_answer
{
    std::string bytes;
    bool close = false;
    bool stall = false;
};

// A raw HTTP/1.1 "server" on 127.0.0.1 on its own thread: each connection reads requests
// (header section plus a Content-Length body) and answers the n-th request of the whole
// server with script(n, request_text).
class raw_server
{
public:
    using script_fn = std::function<raw_answer(std::size_t n, const std::string& request)>;

    explicit raw_server(script_fn script) : script_(std::move(script)), acceptor_(ioc_)
    {
        asio::ip::tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
        acceptor_.open(ep.protocol());
        acceptor_.set_option(asio::ip::tcp::acceptor::reuse_address(true));
        acceptor_.bind(ep);
        acceptor_.listen();
        port_ = acceptor_.local_endpoint().port();
        accept();
        thread_ = std::thread([this] { ioc_.run(); });
    }
    ~raw_server()
    {
        ioc_.stop();
        thread_.join();
    }

    std::string origin() const { return "http://127.0.0.1:" + std::to_string(port_); }
    std::size_t connections() const { return connections_; }
    std::size_t requests() const { return requests_; }
    std::size_t open_connections() const { return open_; }
    std::size_t peak_open_connections() const { return peak_; }
    std::vector<std::string> received() const
    {
        std::lock_guard lock(mutex_);
        return received_;
    }

private:
    struct conn
    {
        explicit conn(asio::ip::tcp::socket s) : socket(std::move(s)) {}
        asio::ip::tcp::socket socket;
        asio::streambuf in;
        std::string out;
    };

    void accept()
    {
        acceptor_.async_accept([this](fedora::error_code ec, asio::ip::tcp::socket s) {
            if (ec)
                return;
            ++connections_;
            peak_ = std::max<std::size_t>(peak_, ++open_);
            auto c = std::make_shared<conn>(std::move(s));
            read(c);
            accept();
        });
    }

    void closed(const std::shared_ptr<conn>& c)
    {
        fedora::error_code ignored;
        if (c->socket.is_open()) {
            c->socket.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
            c->socket.close(ignored);
            --open_;
        }
    }

    void read(std::shared_ptr<conn> c)
    {
        asio::async_read_until(c->socket, c->in, "\r\n\r\n", [this, c](fedora::error_code ec, std::size_t n) {
            if (ec)
                return closed(c);
            std::string head(asio::buffers_begin(c->in.data()), asio::buffers_begin(c->in.data()) + n);
            c->in.consume(n);
            std::size_t length = 0;
            auto pos = head.find("Content-Length: ");
            if (pos != std::string::npos)
                length = std::stoul(head.substr(pos + 16));
            auto need = length > c->in.size() ? length - c->in.size() : 0;
            asio::async_read(c->socket, c->in, asio::transfer_exactly(need),
                             [this, c, head, length](fedora::error_code ec2, std::size_t) {
                                 if (ec2)
                                     return closed(c);
                                 std::string req = head;
                                 req.append(asio::buffers_begin(c->in.data()),
                                            asio::buffers_begin(c->in.data()) + length);
                                 c->in.consume(length);
                                 std::size_t n;
                                 {
                                     std::lock_guard lock(mutex_);
                                     received_.push_back(req);
                                     n = requests_++;
                                 }
                                 answer(c, script_(n, req));
                             });
        });
    }

    void answer(std::shared_ptr<conn> c, raw_answer a)
    {
        if (a.bytes.empty() && a.close)
            return closed(c);
        c->out = std::move(a.bytes);
        asio::async_write(c->socket, asio::buffer(c->out), [this, c, a](fedora::error_code ec, std::size_t) {
            if (ec || a.close)
                return closed(c);
            if (a.stall)
                return wait_for_peer(c);
            read(c);
        });
    }

    void wait_for_peer(std::shared_ptr<conn> c)
    {
        {
            // Keep the socket until the peer closes it.
            auto sink = std::make_shared<std::array<char, 256>>();
            c->socket.async_read_some(asio::buffer(*sink), [this, c, sink](fedora::error_code, std::size_t) {
                closed(c);
            });
        }
    }

    script_fn script_;
    asio::io_context ioc_;
    asio::ip::tcp::acceptor acceptor_;
    std::uint16_t port_ = 0;
    std::thread thread_;
    std::atomic<std::size_t> connections_{0}, requests_{0}, open_{0}, peak_{0};
    mutable std::mutex mutex_;
    std::vector<std::string> received_;
};

} // namespace rel

// The TLS negative matrix (spec reliability.md §B4 items 11 and 12): certificates made at
// test time; each bad server is refused during the handshake, before any request byte,
// with errc::tls_error and a message that says what was wrong. Each row also has its
// positive control, so that a row cannot pass because the server was broken.
#include "reliability_support.hpp"

#include <doctest/doctest.h>

#include <openssl/ssl.h>

using namespace rel;

namespace {

emu::cert_request for_host(const std::string& name)
{
    emu::cert_request r;
    r.common_name = name;
    r.dns_names = {name};
    return r;
}

std::shared_ptr<emu::server> tls_server(emu::server_params sp)
{
    sp.tls = true;
    return test_support::start_echo_server(std::move(sp));
}

http::client_params trusting(const std::string& ca_file)
{
    http::client_params p;
    p.tls.ca_file = ca_file;
    p.tls.use_system_ca_store = false;
    p.default_timeout = 5s;
    return p;
}

bool contains(const std::string& text, std::initializer_list<const char*> any)
{
    for (const char* a : any)
        if (text.find(a) != std::string::npos)
            return true;
    return false;
}

// The row's failure: typed, before any request byte, with the reason in the message.
void check_refused(const outcome& o, const emu::server& server, std::initializer_list<const char*> words)
{
    CHECK(o.ec == errc::tls_error);
    CHECK_FALSE(o.resp.diag.may_have_reached_server);
    CHECK(o.resp.diag.attempts == 0);
    CHECK(o.resp.diag.http_status == 0);
    CHECK_MESSAGE(contains(o.resp.diag.message, words), o.resp.diag.message);
    // The server notices the aborted handshake on its own thread, a moment later.
    for (int i = 0; i < 100 && server.stats().tls_handshakes_failed == 0; ++i)
        std::this_thread::sleep_for(10ms);
    auto st = server.stats();
    CHECK(st.requests_total == 0);          // not one request parsed by the server
    CHECK(st.tls_handshakes_failed >= 1);   // the connection ended in the handshake
}

} // namespace

TEST_CASE("TLS matrix: each bad certificate or protocol is refused before any request byte")
{
    temp_dir dir;
    const auto ca = emu::make_ca("matrix root CA");
    const auto ca_file = dir.write("ca.pem", ca.cert_pem);
    asio::io_context ioc;
    http::client client(ioc.get_executor(), trusting(ca_file));

    SUBCASE("positive control: a certificate for the host by the trusted CA")
    {
        auto server = tls_server({.certificate = emu::make_certificate(ca, for_host("localhost"))});
        auto o = send_one(ioc, client, test_support::get(server->origin() + "/echo"));
        CHECK_MESSAGE(!o.ec, o.resp.diag.message);
        CHECK(o.resp.status() == 200);
        CHECK(server->stats().tls_server_names["localhost"] == 1);  // SNI == the URL's host
    }
    SUBCASE("wrong host name")
    {
        auto server = tls_server({.certificate = emu::make_certificate(ca, for_host("other.example"))});
        auto o = send_one(ioc, client, test_support::get(server->origin() + "/echo"));
        check_refused(o, *server, {"hostname mismatch"});
    }
    SUBCASE("an IP address URL needs the IP in the certificate")
    {
        auto server = tls_server({.certificate = emu::make_certificate(ca, for_host("localhost"))});
        auto o = send_one(ioc, client,
                          test_support::get("https://127.0.0.1:" + std::to_string(server->port()) + "/echo"));
        check_refused(o, *server, {"IP address mismatch"});
    }
    SUBCASE("expired")
    {
        auto req = for_host("localhost");
        req.not_before_offset = -std::chrono::hours(48);
        req.valid_for = std::chrono::hours(24);
        auto server = tls_server({.certificate = emu::make_certificate(ca, req)});
        auto o = send_one(ioc, client, test_support::get(server->origin() + "/echo"));
        check_refused(o, *server, {"expired"});
    }
    SUBCASE("not yet valid")
    {
        auto req = for_host("localhost");
        req.not_before_offset = std::chrono::hours(24);
        auto server = tls_server({.certificate = emu::make_certificate(ca, req)});
        auto o = send_one(ioc, client, test_support::get(server->origin() + "/echo"));
        check_refused(o, *server, {"not yet valid"});
    }
    SUBCASE("self-signed")
    {
        auto server = tls_server({.certificate = emu::make_self_signed(for_host("localhost"))});
        auto o = send_one(ioc, client, test_support::get(server->origin() + "/echo"));
        check_refused(o, *server, {"self-signed", "self signed"});
    }
    SUBCASE("unknown CA")
    {
        auto stranger = emu::make_ca("a CA nobody trusts");
        auto server = tls_server({.certificate = emu::make_certificate(stranger, for_host("localhost"))});
        auto o = send_one(ioc, client, test_support::get(server->origin() + "/echo"));
        check_refused(o, *server, {"unable to get local issuer"});
    }
    SUBCASE("unknown CA: the emulator's own CA, not given to the client")
    {
        auto server = tls_server({});
        auto o = send_one(ioc, client, test_support::get(server->origin() + "/echo"));
        check_refused(o, *server, {"unable to get local issuer"});
    }
    SUBCASE("intermediate CA: accepted when the server sends it, refused when it does not")
    {
        auto ireq = for_host("matrix intermediate CA");
        ireq.dns_names.clear();
        ireq.is_ca = true;
        auto intermediate = emu::make_certificate(ca, ireq);
        auto leaf = emu::make_certificate(intermediate, for_host("localhost"));
        auto chained = leaf;
        chained.cert_pem += intermediate.cert_pem;
        auto good = tls_server({.certificate = chained});
        auto o = send_one(ioc, client, test_support::get(good->origin() + "/echo"));
        CHECK_MESSAGE(!o.ec, o.resp.diag.message);
        auto bad = tls_server({.certificate = leaf});
        auto o2 = send_one(ioc, client, test_support::get(bad->origin() + "/echo"));
        check_refused(o2, *bad, {"unable to get local issuer"});
    }
    SUBCASE("a server offering only TLS 1.0 and 1.1")
    {
        emu::server_params sp;
        sp.certificate = emu::make_certificate(ca, for_host("localhost"));
        sp.min_tls_version = TLS1_VERSION;
        sp.max_tls_version = TLS1_1_VERSION;
        auto server = tls_server(sp);
        auto o = send_one(ioc, client, test_support::get(server->origin() + "/echo"));
        check_refused(o, *server, {"protocol version"});
    }
    SUBCASE("a server that picks its certificate by SNI")
    {
        // Without SNI (or with another name) the server presents a certificate for another
        // host; only SNI "localhost" gets the right one.
        emu::server_params sp;
        sp.certificate = emu::make_certificate(ca, for_host("default.example"));
        sp.sni_certificates["localhost"] = emu::make_certificate(ca, for_host("localhost"));
        auto server = tls_server(sp);
        auto o = send_one(ioc, client, test_support::get(server->origin() + "/echo"));
        CHECK_MESSAGE(!o.ec, o.resp.diag.message);
        auto st = server->stats();
        CHECK(st.tls_server_names.size() == 1);
        CHECK(st.tls_server_names["localhost"] == 1);

        // An IP literal URL sends no SNI (RFC 6066): the default certificate, refused.
        server->reset_stats();
        auto o2 = send_one(ioc, client,
                           test_support::get("https://127.0.0.1:" + std::to_string(server->port()) + "/echo"));
        check_refused(o2, *server, {"IP address mismatch"});
        CHECK(server->stats().tls_server_names[""] == 1);
    }
}

TEST_CASE("TLS: verification is on by default; insecure is scoped to its client")
{
    CHECK_FALSE(http::client_params{}.tls.insecure);
    auto server = tls_server({});
    const std::string url = server->origin() + "/echo";
    REQUIRE(url.rfind("https://localhost:", 0) == 0);
    asio::io_context ioc;

    SUBCASE("the default client refuses the emulator's certificate")
    {
        http::client client(ioc.get_executor());
        check_refused(send_one(ioc, client, test_support::get(url)), *server, {"certificate"});
    }
    SUBCASE("accepted with its CA file, and kept alive over TLS")
    {
        http::client_params p;
        p.tls.ca_file = server->ca_file();
        http::client client(ioc.get_executor(), p);
        auto o = send_one(ioc, client, test_support::get(url));
        CHECK(!o.ec);
        CHECK(o.resp.status() == 200);
        CHECK(!send_one(ioc, client, test_support::get(url)).ec);
        CHECK(server->stats().connections_accepted == 1);
    }
    SUBCASE("a strict client before and after an insecure one, same process and io_context")
    {
        http::client strict_before(ioc.get_executor());
        http::client_params p;
        p.tls.insecure = true;
        http::client lax(ioc.get_executor(), p);
        CHECK(send_one(ioc, strict_before, test_support::get(url)).ec == errc::tls_error);
        CHECK(!send_one(ioc, lax, test_support::get(url)).ec);
        http::client strict_after(ioc.get_executor());
        CHECK(send_one(ioc, strict_after, test_support::get(url)).ec == errc::tls_error);
        CHECK(send_one(ioc, strict_before, test_support::get(url)).ec == errc::tls_error);
        CHECK(!send_one(ioc, lax, test_support::get(url)).ec);
        CHECK(server->stats().requests_total == 2);  // the lax client's two requests only
    }
    SUBCASE("insecure also accepts the matrix's bad certificates (it is what it says)")
    {
        auto req = for_host("other.example");
        req.not_before_offset = -std::chrono::hours(48);
        req.valid_for = std::chrono::hours(24);
        auto expired_wrong_name = tls_server({.certificate = emu::make_self_signed(req)});
        http::client_params p;
        p.tls.insecure = true;
        http::client lax(ioc.get_executor(), p);
        CHECK(!send_one(ioc, lax, test_support::get(expired_wrong_name->origin() + "/echo")).ec);
        http::client strict(ioc.get_executor());
        CHECK(send_one(ioc, strict, test_support::get(expired_wrong_name->origin() + "/echo")).ec == errc::tls_error);
    }
}

TEST_CASE("Transport: request bodies and answers of several TLS records on one kept-alive connection")
{
    for (const bool tls : {true, false}) {
        for (const bool keep : {true, false}) {
            if (!tls && !keep)
                continue;
            CAPTURE(tls);
            CAPTURE(keep);
            auto server = tls ? tls_server({}) : test_support::start_echo_server({});
            asio::io_context ioc;
            http::client_params p = trusting(tls ? server->ca_file() : std::string());
            p.tls.keep_buffers = keep;
            http::client client(ioc.get_executor(), p);
            // Bodies across several 16 KB TLS records each way, and small ones between them,
            // on the one connection: each exchange starts with whatever the last one left.
            for (std::size_t size : {40000u, 10u, 70000u, 0u, 16384u, 16200u, 16500u}) {
                CAPTURE(size);
                std::string body(size, 'x');
                for (std::size_t i = 0; i < size; i += 97)
                    body[i] = char('a' + i % 26);
                auto o = send_one(ioc, client, post(server->origin() + "/echo", body));
                REQUIRE_MESSAGE(!o.ec, o.resp.diag.message);
                auto echoed = boost::json::parse(o.resp.message.body());
                CHECK(echoed.at("body").as_string() == body);
                auto big = send_one(ioc, client,
                                    test_support::get(server->origin() + "/bytes/" + std::to_string(size * 2)));
                REQUIRE_MESSAGE(!big.ec, big.resp.diag.message);
                CHECK(big.resp.message.body() == std::string(size * 2, 'b'));
            }
            CHECK(server->stats().connections_accepted == 1);
        }
    }
}

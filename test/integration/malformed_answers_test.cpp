// Malformed server answers (spec reliability.md §B2.3, §B4 items 7, 14, 15): a scripted raw
// TCP server writes canned bytes; every vector must end in a typed error (or a pinned,
// harmless success), the connection it came on must be closed and never reused, and the
// next call on the same client must open a new connection and succeed. The content
// vectors run through the real FAS and Bodhi operation parsers too.
#include "reliability_support.hpp"

#include <fedora/bodhi/client.hpp>
#include <fedora/fas/proxy_client.hpp>

#include <doctest/doctest.h>

using namespace rel;

namespace {

const std::string ok_json = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
// The good answer between vectors closes its connection, so that each vector starts
// with an empty pool and every request is on a connection of its own.
const std::string ok_close = "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}";

std::string with_body(const std::string& head_lines, const std::string& body)
{
    return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" + head_lines +
           "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

struct vector_case
{
    const char* name;
    std::string bytes;
    bool close_after = false;       // the server closes after writing (else keeps reading)
    std::optional<errc> expected;   // nullopt: a pinned success
    unsigned status = 200;          // for successes
    bool reusable = false;          // a success whose connection may carry the next call
};

// The index N of a request for "/case/N/...".
std::size_t case_of(const std::string& request)
{
    auto p = request.find("/case/");
    return p == std::string::npos ? static_cast<std::size_t>(-1) : std::stoul(request.substr(p + 6));
}

std::vector<vector_case> framing_vectors()
{
    const std::string big_header(100 * 1024, 'h');
    std::string many_fields = "HTTP/1.1 200 OK\r\n";
    for (int i = 0; i < 10000; ++i)
        many_fields += "X-F" + std::to_string(i) + ": v\r\n";
    many_fields += "Content-Length: 2\r\n\r\n{}";
    std::vector<vector_case> v = {
        {"bad status code", "HTTP/1.1 2x0 OK\r\nContent-Length: 2\r\n\r\n{}", false, errc::protocol_error},
        {"status 000 (found by the response fuzzer)", "HTTP/1.1 000 OK\r\nContent-Length: 2\r\n\r\n{}", false, errc::protocol_error},
        {"status code of 4 digits", "HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\n{}", false, errc::protocol_error},
        {"bad version", "HTTX/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}", false, errc::protocol_error},
        {"HTTP/2 status line", "HTTP/2 200 OK\r\nContent-Length: 2\r\n\r\n{}", false, errc::protocol_error},
        {"not HTTP at all", "SSH-2.0-OpenSSH_9.2\r\n\r\n", false, errc::protocol_error},
        {"header without colon", "HTTP/1.1 200 OK\r\nNoColonHere\r\nContent-Length: 2\r\n\r\n{}", false, errc::protocol_error},
        {"space in a header name", "HTTP/1.1 200 OK\r\nBad Name: x\r\nContent-Length: 2\r\n\r\n{}", false, errc::protocol_error},
        {"whitespace before the colon", "HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\n{}", false, errc::protocol_error},
        {"NUL in a header value", std::string("HTTP/1.1 200 OK\r\nX-A: a") + '\0' + "b\r\nContent-Length: 2\r\n\r\n{}", false, errc::protocol_error},
        {"CR inside Transfer-Encoding", "HTTP/1.1 200 OK\r\nTransfer-Encoding: \rchunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", false, errc::protocol_error},
        {"bare LF line endings", "HTTP/1.1 200 OK\nContent-Length: 2\n\n{}", false, errc::protocol_error},
        {"conflicting Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}x", false, errc::protocol_error},
        {"Content-Length list", "HTTP/1.1 200 OK\r\nContent-Length: 2, 3\r\n\r\n{}x", false, errc::protocol_error},
        {"Content-Length plus chunked", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", false, errc::protocol_error},
        {"negative Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n{}", false, errc::protocol_error},
        {"Content-Length beyond 2^64", "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n{}", false, errc::protocol_error},
        {"Content-Length of 10 GiB", "HTTP/1.1 200 OK\r\nContent-Length: 10737418240\r\n\r\n{}", false, errc::limit_exceeded},
        {"chunk-size overflow", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFF\r\n{}\r\n0\r\n\r\n", false, errc::protocol_error},
        {"chunk-size not hex", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n", false, errc::protocol_error},
        {"bad chunk extension", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;=x\r\n{}\r\n0\r\n\r\n", false, errc::protocol_error},
        {"chunk data longer than its size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}}}\r\n0\r\n\r\n", false, errc::protocol_error},
        {"bare LF after the chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\n{}\r\n0\r\n\r\n", false, errc::protocol_error},
        {"chunked without the last chunk, then close", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n", true, errc::protocol_error},
        {"body shorter than declared, then close", "HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{}", true, errc::protocol_error},
        {"headers cut short, then close", "HTTP/1.1 200 OK\r\nContent-Le", true, errc::protocol_error},
        {"closed before any byte", "", true, errc::connect_error},
        {"header section over the limit", "HTTP/1.1 200 OK\r\nX-Big: " + big_header + "\r\nContent-Length: 2\r\n\r\n{}", false, errc::limit_exceeded},
        {"10,000 header fields", many_fields, false, errc::limit_exceeded},
        {"body over the limit (Content-Length)", with_body("", std::string(2 * 1024 * 1024, 'x')), false, errc::limit_exceeded},
        {"body over the limit (chunked)", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n200000\r\n" + std::string(0x200000, 'x') + "\r\n0\r\n\r\n", false, errc::limit_exceeded},
        // Pinned successes: well-framed, but the connection cannot carry another exchange.
        {"body longer than declared (extra bytes)", ok_json + "garbage", false, std::nullopt},
        {"an unsolicited second response", ok_json + ok_json, false, std::nullopt},
        {"204 with a body", "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nhello", false, std::nullopt, 204},
        {"304 with a body", "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\nhello", false, std::nullopt, 304},
        {"Connection: close honoured", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}", false, std::nullopt},
        {"HTTP/1.0 without keep-alive", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n{}", false, std::nullopt},
        {"body until close", "HTTP/1.1 200 OK\r\n\r\n{}", true, std::nullopt},
        // Interim answers: skipped (RFC 9110 §15.2); the final one counts.
        {"100 Continue before the answer", "HTTP/1.1 100 Continue\r\n\r\n" + ok_json, false, std::nullopt, 200, true},
        {"103 Early Hints before the answer", "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n" + ok_json, false, std::nullopt, 200, true},
        {"101 Switching Protocols nobody asked for", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", false, errc::protocol_error},
        {"endless 100 Continue", [] {
             std::string s;
             for (int i = 0; i < 20; ++i)
                 s += "HTTP/1.1 100 Continue\r\n\r\n";
             return s;
         }(), false, errc::protocol_error},
    };
    return v;
}

} // namespace

TEST_CASE("malformed framing: typed errors, the connection closed and never reused")
{
    const auto vectors = framing_vectors();
    raw_server server([&](std::size_t, const std::string& req) -> raw_answer {
        auto i = case_of(req);
        if (i < vectors.size())
            return {vectors[i].bytes, vectors[i].close_after};
        return {ok_close, true};
    });
    asio::io_context ioc;
    http::client_params p;
    p.default_timeout = 5s;
    p.body_limit = 1024 * 1024;
    http::client client(ioc.get_executor(), p);
    std::size_t expected_connections = 0;
    for (std::size_t i = 0; i < vectors.size(); ++i) {
        const auto& v = vectors[i];
        const std::string name = v.name;
        CAPTURE(name);
        // Unsafe: a failure is never hidden by a silent replay.
        auto o = send_one(ioc, client, post(server.origin() + "/case/" + std::to_string(i), "a=1"));
        ++expected_connections;
        if (v.expected) {
            CHECK_MESSAGE(o.ec == *v.expected, o.ec.message() << ": " << o.resp.diag.message);
            CHECK(o.resp.diag.may_have_reached_server);
            CHECK_FALSE(o.resp.diag.message.empty());
        } else {
            CHECK_MESSAGE(!o.ec, o.ec.message() << ": " << o.resp.diag.message);
            CHECK(o.resp.status() == v.status);
            if (v.status == 204 || v.status == 304)
                CHECK(o.resp.body().empty());
        }
        CHECK(o.seconds < 2.0);
        // Nothing went back to the pool...
        auto st = client.stats().origins.at(0);
        CHECK(st.idle == (v.reusable ? 1 : 0));
        CHECK(st.in_use == 0);
        // ...so the next call opens a new connection, and it works.
        auto next = send_one(ioc, client, post(server.origin() + "/ok", "b=2"));
        if (!v.reusable)
            ++expected_connections;
        CHECK_MESSAGE(!next.ec, next.resp.diag.message);
        CHECK(next.resp.status() == 200);
        CHECK(server.connections() == expected_connections);
        CHECK(client.stats().origins.at(0).idle == 0);
    }
    // No request arrived on a connection that had carried a malformed answer, though the
    // server kept reading on them: the only connections that carried two requests are
    // those of the reusable rows (100/103 then the answer).
    CHECK(server.requests() == 2 * vectors.size());
    CHECK(server.connections() == expected_connections);
    CHECK(vectors.size() >= 30);
    std::this_thread::sleep_for(100ms);
    CHECK(server.open_connections() == 0);  // the client closed every one of them
}

namespace {

struct content_case
{
    const char* name;
    std::string body;
    std::string content_type = "application/json";
    unsigned status = 200;
    errc fas;     // FAS person_by_id
    errc bodhi;   // Bodhi 2 query_updates
};

// errc{} (value 0) = a pinned success: the lenient readers take what fits.
constexpr errc success{};

std::vector<content_case> content_vectors()
{
    const std::string person = R"("person":{"id":5,"username":"jdoe","human_name":"J. Doe"})";
    return {
        {"truncated JSON", R"({"success":true,"person":{"id":5,"usern)", "application/json", 200, errc::server_error, errc::server_error},
        {"not JSON", "hello, world", "text/plain", 200, errc::server_error, errc::server_error},
        {"HTML 200 instead of JSON", "<html><head><title>Fedora</title></head><body>Log in</body></html>", "text/html", 200, errc::server_error, errc::server_error},
        {"empty body", "", "application/json", 200, errc::server_error, errc::server_error},
        {"an array instead of an object", "[1,2,3]", "application/json", 200, errc::server_error, errc::server_error},
        {"a bare string", R"("person")", "application/json", 200, errc::server_error, errc::server_error},
        {"null", "null", "application/json", 200, errc::server_error, errc::server_error},
        {"missing fields", R"({"success":true})", "application/json", 200, errc::server_error, errc::server_error},
        {"the list is an object", R"({"success":true,"person":[],"updates":{"a":1}})", "application/json", 200, errc::server_error, errc::server_error},
        {"wrong types for fields",
         R"({"success":true,"person":{"id":"x","username":42,"human_name":null,"group_roles":"zz","approved_memberships":7},)"
         R"("updates":[1,"x",null,{"title":5,"builds":"b","bugs":{},"karma":"many","release":[]}],"page":"one","pages":-3})",
         "application/json", 200, success, success},
        {"100,000 nested arrays", std::string(100000, '['), "application/json", 200, errc::server_error, errc::server_error},
        {"100,000 nested objects", [] {
             std::string s;
             for (int i = 0; i < 100000; ++i)
                 s += "{\"a\":";
             return s;
         }(), "application/json", 200, errc::server_error, errc::server_error},
        {"huge numbers", R"({"success":true,"person":{"id":1e400,"username":"jdoe"},"updates":[{"karma":1e308,"title":"t"}],"page":99999999999999999999999,"total":-1e300})",
         "application/json", 200, success, success},
        {"huge integers", R"({"success":true,"person":{"id":99999999999999999999999,"username":"jdoe"},"updates":[],"page":18446744073709551615,"total":-9223372036854775809})",
         "application/json", 200, success, success},
        {"invalid UTF-8 in a string", "{\"success\":true," + person.substr(0, person.size() - 1) + ",\"x\":\"\xff\xfe\xc3\x28\"},\"updates\":[]}",
         "application/json", 200, errc::server_error, errc::server_error},
        {"JSON after a 500", R"({"success":true,)" + person + R"(,"updates":[]})", "application/json", 500, errc::server_error, errc::server_error},
        {"HTML 502 from a proxy", "<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html", 502, errc::server_error, errc::server_error},
        {"well-formed (control)", R"({"success":true,)" + person + R"(,"updates":[],"page":1,"pages":1,"rows_per_page":20,"total":0})",
         "application/json", 200, success, success},
    };
}

bool matches(const fedora::error_code& ec, errc want)
{
    return want == success ? !ec : ec == want;
}

std::string http_answer(const content_case& c)
{
    return "HTTP/1.1 " + std::to_string(c.status) + " X\r\nContent-Type: " + c.content_type +
           "\r\nContent-Length: " + std::to_string(c.body.size()) + "\r\n\r\n" + c.body;
}

} // namespace

TEST_CASE("malformed content through the FAS and Bodhi operation parsers: typed errors, no crash")
{
    const auto vectors = content_vectors();
    raw_server server([&](std::size_t, const std::string& req) -> raw_answer {
        auto i = case_of(req);
        if (i < vectors.size())
            return {http_answer(vectors[i]), false};
        return {ok_close, true};
    });
    asio::io_context ioc;
    auto transport = std::make_shared<http::client>(ioc.get_executor());
    for (std::size_t i = 0; i < vectors.size(); ++i) {
        const auto& v = vectors[i];
        const std::string name = v.name;
        CAPTURE(name);
        const std::string base = server.origin() + "/case/" + std::to_string(i) + "/";
        {
            fedora::fas::client_params fp;
            fp.base_url = base;
            fedora::fas::proxy_client fas(transport, fp);
            fedora::error_code ec;
            fedora::fas::reply<fedora::fas::person> r;
            fas.async_person_by_id(5, fedora::fas::auth_params::session("s3ss10n"),
                                   [&](fedora::error_code e, fedora::fas::reply<fedora::fas::person> rr) {
                                       ec = e;
                                       r = std::move(rr);
                                   });
            ioc.restart();
            ioc.run();
            CHECK_MESSAGE(matches(ec, v.fas), ec.message() << ": " << r.diag.message);
            if (ec) {
                CHECK_FALSE(r.diag.message.empty());
                CHECK(r.diag.body_snippet.size() <= 1024);
            }
        }
        {
            fedora::bodhi::client_params bp;
            bp.base_url = base;
            bp.version = fedora::bodhi::server_version::bodhi2;
            fedora::bodhi::client bodhi(transport, bp);
            fedora::error_code ec;
            std::string message;
            bodhi.async_query_updates(fedora::bodhi::update_query{}, fedora::bodhi::auth_params{},
                                      [&](fedora::error_code e, auto rr) {
                                          ec = e;
                                          message = rr.diag.message;
                                          CHECK(rr.diag.body_snippet.size() <= 1024);
                                      });
            ioc.restart();
            ioc.run();
            CHECK_MESSAGE(matches(ec, v.bodhi), ec.message() << ": " << message);
        }
    }
    // Every answer was well framed and kept alive, so the two parsers' calls could share
    // connections; the bad content never made the transport drop or misuse one.
    CHECK(server.requests() == 2 * vectors.size());
}

namespace {

struct person_outcome
{
    fedora::error_code ec;
    fedora::fas::reply<fedora::fas::person> r;
};

// One person_by_id as jdoe (with a password) through a proxy_client, run to completion.
person_outcome person_by_id_as_jdoe(asio::io_context& ioc, fedora::fas::proxy_client& fas)
{
    person_outcome o;
    fas.async_person_by_id(5, fedora::fas::auth_params::credentials("jdoe", "pw"),
                           [&](fedora::error_code e, fedora::fas::reply<fedora::fas::person> r) {
                               o.ec = e;
                               o.r = std::move(r);
                           });
    ioc.restart();
    ioc.run();
    return o;
}

} // namespace

TEST_CASE("the FAS session cookie is read among other Set-Cookie headers, wherever they stand")
{
    const std::string person = R"({"success":true,"person":{"id":5,"username":"jdoe","email":"j@x"}})";
    // The session cookie after another header, before it, and between two other cookies.
    const std::vector<std::string> heads = {
        "Set-Cookie: other=1; Path=/\r\nDate: Sun, 29 Nov 2026 06:00:00 GMT\r\n"
        "Set-Cookie: tg-visit=f00d; Path=/\r\n",
        "Set-Cookie: tg-visit=f00d; Path=/\r\nSet-Cookie: other=1\r\n",
        "Set-Cookie: a=1\r\nX-Other: y\r\nSet-Cookie: tg-visit=f00d\r\nServer: z\r\nSet-Cookie: b=2\r\n",
    };
    raw_server server([&](std::size_t n, const std::string&) -> raw_answer {
        return {with_body(heads[n % heads.size()], person), false};
    });
    asio::io_context ioc;
    fedora::fas::client_params fp;
    fp.base_url = server.origin() + "/accounts/";
    fedora::fas::proxy_client fas(ioc.get_executor(), fp);
    for (std::size_t i = 0; i < heads.size(); ++i) {
        CAPTURE(i);
        auto o = person_by_id_as_jdoe(ioc, fas);
        REQUIRE_MESSAGE(!o.ec, o.r.diag.message);
        CHECK(o.r.value.username == "jdoe");
        CHECK(o.r.session_id == "f00d");
    }
}

TEST_CASE("a session set by a FAS redirect is carried to the page it leads to, wherever its cookie stands")
{
    const std::string person = R"({"success":true,"person":{"id":5,"username":"jdoe","email":"j@x"}})";
    raw_server server([&](std::size_t, const std::string& req) -> raw_answer {
        if (req.rfind("POST ", 0) == 0)
            return {"HTTP/1.1 302 Found\r\nSet-Cookie: other=1; Path=/\r\n"
                    "Date: Sun, 29 Nov 2026 06:00:00 GMT\r\nSet-Cookie: tg-visit=beef; Path=/\r\n"
                    "Location: /accounts/landing\r\nContent-Length: 0\r\n\r\n",
                    false};
        if (req.find("\r\nCookie: tg-visit=beef\r\n") == std::string::npos)
            return {"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n", false};
        return {with_body("", person), false};
    });
    asio::io_context ioc;
    fedora::fas::client_params fp;
    fp.base_url = server.origin() + "/accounts/";
    fedora::fas::proxy_client fas(ioc.get_executor(), fp);
    auto o = person_by_id_as_jdoe(ioc, fas);
    REQUIRE_MESSAGE(!o.ec, o.r.diag.message);
    CHECK(o.r.value.username == "jdoe");
    CHECK(o.r.session_id == "beef");
    CHECK(server.requests() == 2);
}

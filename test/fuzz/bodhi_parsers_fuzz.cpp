// libFuzzer target: every Bodhi operation's answer reading, for Bodhi 1 and Bodhi 2. Byte 0
// picks the version (bit 0) and the logical operation (the other bits); the rest is the
// HTTP response the server "sent". The bytes go through the same steps as a real answer:
// read_bodhi1_answer / read_bodhi2_answer (with the operation's expect_json), then that
// version's parse.
//
// Checked on every input: no crash, no exception, no sanitizer report, and a failure is a
// typed fedora::errc with a message (an app_error's text is the server's own, maybe empty).
#include "fuzz_support.hpp"

#include <cstdio>
#include <cstdlib>

namespace {

namespace bodhi = fedora::bodhi;

template <class Op>
void run(const Op& op, bodhi::server_version v, const fedora::http::response& resp)
{
    const auto auth = bodhi::auth_params::credentials("alice", "alice-pass");
    const bodhi::operation_request req = bodhi::build_for(v, op, auth);
    if (req.refused)
        return;  // this version cannot do it: no request, so no answer to read
    bodhi::raw_reply r;
    r.version = v;
    typename Op::result_type out{};
    fedora::error_code ec = v == bodhi::server_version::bodhi1 ? bodhi::read_bodhi1_answer(resp, r)
                                                               : bodhi::read_bodhi2_answer(resp, req.expect_json, r);
    if (!ec)
        ec = bodhi::parse_for(op, r, out);
    if (ec && ec.category() != fedora::error_category()) {
        std::fprintf(stderr, "untyped error: %s\n", ec.message().c_str());
        std::abort();
    }
    if (ec && ec != fedora::errc::app_error && r.diag.message.empty()) {
        std::fprintf(stderr, "error %s without a message\n", ec.message().c_str());
        std::abort();
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    static auto table = fuzz_support::bodhi_operations();
    if (size < 1)
        return 0;
    fedora::http::response resp;
    if (!fuzz_support::read_response({reinterpret_cast<const char*>(data) + 1, size - 1}, resp))
        return 0;
    const auto v = (data[0] & 1) ? bodhi::server_version::bodhi1 : bodhi::server_version::bodhi2;
    fuzz_support::visit_at(table, (data[0] >> 1) % fuzz_support::bodhi_count,
                           [&](const auto& op) { run(op, v, resp); });
    return 0;
}

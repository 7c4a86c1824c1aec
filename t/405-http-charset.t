# 405-http-charset: charset, charset_types, source_charset (nginx's charset
# filter without recoding): the charset is added to the Content-Type of the
# types listed (text/html, text/plain, ... by default), for proxied and own
# responses and error pages, not to other types, not on 301/302, to an
# encoded response too; a response that names its charset keeps it; a
# conversion that would be needed is nginx's "no charset_map" error: at load
# for source_charset, logged (response untouched) for override_charset.
#
# Debian's nginx 1.22 passes every assertion.
. "$(dirname "$0")/lib.sh"
t_init
need_fc
command -v curl >/dev/null 2>&1 || skip_all "no curl"

fc_conf cs.conf <<'EOF2'
@PRELUDE@
http {
    access_log off;
    charset utf-8;
    server {
        listen 127.0.0.1:@PORT1@;
        location / { proxy_pass http://127.0.0.1:@PORT9@; }
        location /ret { return 200 "hi\n"; }
        location /json { default_type application/json; return 200 "{}\n"; }
        location /off { charset off; return 200 "x\n"; }
        location /redir { return 302 /x; }
        location /moved { return 307 /x; }
        location /types {
            charset_types application/json;
            proxy_pass http://127.0.0.1:@PORT9@;
        }
        location /src {
            charset koi8-r;
            source_charset koi8-r;
            proxy_pass http://127.0.0.1:@PORT9@;
        }
        location /ovr {
            override_charset on;
            proxy_pass http://127.0.0.1:@PORT9@;
        }
        location /any {
            charset_types *;
            proxy_pass http://127.0.0.1:@PORT9@;
        }
    }
}
EOF2
if ! fc_run -t -c "$T/cs.conf" && grep -q 'unknown directive "charset"' "$T/fc_run.out"; then
    skip_all "built without the charset module (./configure --without-http_charset)"
fi
backend_start reflect "$PORT9"
FC_WAIT_PORTS=$PORT1 fc_start cs.conf
ok $? "starts with charset" || t_bail "the binary did not start"
U=http://127.0.0.1:$PORT1

ct() { # PATH: the Content-Type answered
    hreq "$U$1"
    hhdr Content-Type
}
is "$(ct /ret)" "text/plain; charset=utf-8" "return text: text/plain gets the charset"
is "$(ct /json)" "application/json" "a type not in charset_types is left alone"
is "$(ct /off)" "text/plain" "charset off"
is "$(ct /redir)" "text/html" "not on a 302, as nginx"
is "$(ct /moved)" "text/html; charset=utf-8" "...but on a 307"
is "$(ct '/p?hdr=Content-Type:text/html')" "text/html; charset=utf-8" "proxied text/html gets it"
is "$(ct '/p?hdr=Content-Type:application/octet-stream')" "application/octet-stream" \
    "proxied octet-stream: left alone"
is "$(ct '/p?hdr=Content-Type:text/html%3B%20charset=UTF-8')" "text/html; charset=UTF-8" \
    "a response naming its charset keeps it as written"
is "$(ct '/p?hdr=Content-Type:text/html%3B%20charset=iso-8859-1')" "text/html; charset=iso-8859-1" \
    "...another one too (override_charset off)"
unlike "$(cat "$T/error.log")" 'charset_map' "...and nothing is logged"
is "$(ct '/ovr?hdr=Content-Type:text/html%3B%20charset=iso-8859-1')" "text/html; charset=iso-8859-1" \
    "override_charset on: no conversion between two charsets..."
like "$(cat "$T/error.log")" 'no "charset_map" between the charsets "iso-8859-1" and "utf-8"' \
    "...logged as nginx logs a missing charset_map"
is "$(ct '/ovr?hdr=Content-Type:text/html%3B%20charset=Utf-8')" "text/html; charset=utf-8" \
    "override_charset on, the same charset: named as the charset directive writes it"
is "$(ct '/p?hdr=Content-Type:text/html&hdr=Content-Encoding:gzip')" "text/html; charset=utf-8" \
    "an encoded response is named too (nginx)"

is "$(ct '/types?hdr=Content-Type:application/json')" "application/json; charset=utf-8" \
    "charset_types application/json"
is "$(ct '/types?hdr=Content-Type:text/html')" "text/html; charset=utf-8" "...text/html is always in"
is "$(ct '/src?hdr=Content-Type:text/html')" "text/html; charset=koi8-r" \
    "source_charset equal to charset: named"
is "$(ct '/any?hdr=Content-Type:image/png')" "image/png; charset=utf-8" "charset_types *"
hreq "$U/nope?status=404&hdr=Content-Type:text/html"
is "$(hhdr Content-Type)" "text/html; charset=utf-8" "a proxied 404 too"

fc_stop
is $? 0 "graceful stop"

# bad values
http_check "charset utf-8; charset off"
like "$(cat "$T/fc_run.out")" '"charset" directive is duplicate' "charset twice: is duplicate"
http_check "charset utf-8; source_charset koi8-r"
is $? 1 "source_charset other than charset: refused at load..."
like "$(cat "$T/fc_run.out")" 'no "charset_map" between the charsets "koi8-r" and "utf-8"' \
    "...as nginx, with no charset_map between them"
done_testing

# 255-http-if: the rewrite module's `if`: every operator (=, !=, ~, ~*, !~, !~*,
# a bare variable, -f/!-f, -d/!-d, -e/!-e, -x/!-x), captures of an if regex
# used by the directives after it, ifs at the server level, and nginx's "if is
# evil" semantics in a location: a true if makes its block the request's
# configuration (proxy_pass, add_header, error_page, access_log inside take
# effect, the rest is inherited), break and return inside, the directives after
# a true if still run; config errors with file:line.
. "$(dirname "$0")/lib.sh"
t_init
need_fc

NAME=${FC_BIN##*/}

mkdir -p "$T/www/dir" && printf 'plain\n' >"$T/www/plain" && printf '#!/bin/sh\n' >"$T/www/script" &&
    chmod 755 "$T/www/script" && chmod 644 "$T/www/plain" ||
    t_bail "cannot make the files of the -f tests"

fc_conf if.conf <<'EOF'
@PRELUDE@
http {
    access_log off;
    server {
        listen 127.0.0.1:@PORT1@;
        server_name if.test old.test;
        root @T@/www;

        if ($host = old.test) {
            return 301 http://new.test$request_uri;
        }
        if ($http_x_go ~ ^go-(?<dest>\w+)-(\d+)$) {
            set $srv_if "srv";
            set $num $2;
            rewrite ^ /target/$dest-$num last;
        }

        location /target/ { return 200 "target $uri srv=$srv_if\n"; }

        location /op/eq { if ($arg_a = yes) { return 200 "eq\n"; } return 200 "not eq\n"; }
        location /op/ne { if ($arg_a != yes) { return 200 "ne\n"; } return 200 "not ne\n"; }
        location /op/eqvar { if ($arg_a = $arg_b) { return 200 "same\n"; } return 200 "differ\n"; }
        location /op/re { if ($arg_a ~ ^A(\d+)$) { return 200 "re $1\n"; } return 200 "no re\n"; }
        location /op/rei { if ($arg_a ~* ^a(\d+)$) { return 200 "rei $1\n"; } return 200 "no rei\n"; }
        location /op/nre { if ($arg_a !~ ^A) { return 200 "nre\n"; } return 200 "no nre\n"; }
        location /op/nrei { if ($arg_a !~* ^a) { return 200 "nrei\n"; } return 200 "no nrei\n"; }
        location /op/var { if ($arg_a) { return 200 "true\n"; } return 200 "false\n"; }
        location /op/method { if ($request_method = POST) { return 200 "post\n"; } return 200 "other\n"; }
        location /op/space { if ( $arg_a = x ) { return 200 "spaced\n"; } return 200 "other\n"; }
        location /op/named {
            if ($arg_p ~ ^(?<first>\w+)/(?<second>\w+)$) {
                rewrite ^ /target/$second-$first last;
            }
            return 200 "no match\n";
        }
        location ~ ^/loccap/(\w+)$ {
            if ($arg_x ~ ^(\d+)$) { }
            return 200 "cap $1\n";
        }

        location /f/ { if (-f $document_root/$arg_p) { return 200 "yes\n"; } return 200 "no\n"; }
        location /rf/ { return 200 "$request_filename\n"; }
        location /nf/ { if (!-f $document_root/$arg_p) { return 200 "yes\n"; } return 200 "no\n"; }
        location /d/ { if (-d $document_root/$arg_p) { return 200 "yes\n"; } return 200 "no\n"; }
        location /nd/ { if (!-d $document_root/$arg_p) { return 200 "yes\n"; } return 200 "no\n"; }
        location /e/ { if (-e $document_root/$arg_p) { return 200 "yes\n"; } return 200 "no\n"; }
        location /ne/ { if (!-e $document_root/$arg_p) { return 200 "yes\n"; } return 200 "no\n"; }
        location /x/ { if (-x $document_root/$arg_p) { return 200 "yes\n"; } return 200 "no\n"; }
        location /nx/ { if (!-x $document_root/$arg_p) { return 200 "yes\n"; } return 200 "no\n"; }

        location /seq/ {
            set $x outer;
            if ($arg_a) { set $x inner; set $y in-if; }
            set $z after;
            return 200 "x=$x y=$y z=$z\n";
        }
        location /brk/ {
            set $v start;
            if ($arg_stop) { set $v stopped; break; }
            set $v after;
            return 200 "v=$v\n";
            proxy_set_header X-V $v;
            proxy_pass http://127.0.0.1:@PORT2@;
        }
        location /ret/ {
            if ($arg_r) { return 418; }
            return 200 "no return\n";
        }

        location /px/ {
            if ($arg_via = backend) { proxy_pass http://127.0.0.1:@PORT2@; }
        }
        location /sw/ {
            proxy_set_header X-Inh inherited;
            proxy_pass http://127.0.0.1:@PORT2@;
            if ($arg_b = two) { proxy_pass http://127.0.0.1:@PORT3@; }
        }
        location /hdr/ {
            add_header X-Outer outer;
            if ($arg_h) { add_header X-Inner inner; }
            proxy_set_header X-Inh inherited;
            proxy_pass http://127.0.0.1:@PORT2@;
        }
        location /hdrret/ {
            add_header X-Outer outer;
            if ($arg_h) { add_header X-Inner inner; }
            return 200 "hdrret\n";
        }
        location /ep/ {
            if ($arg_e) { error_page 404 =200 /target/ep; }
            return 404;
        }
        location /log/ {
            if ($arg_l) { access_log @T@/if-access.log; }
            return 200 "log\n";
        }
    }
}
EOF
backend_start reflect "$PORT2" -i one
backend_start reflect "$PORT3" -i two
FC_WAIT_PORTS=$PORT1 fc_start if.conf
ok $? "starts with ifs at server and location level" || t_bail "the binary did not start"
U=http://127.0.0.1:$PORT1

# get PATH [CURL ARGS]: "STATUS BODY" of one request
get() {
    _p=$1
    shift
    hreq --path-as-is "$@" "$U$_p"
    printf '%s %s' "$H_STATUS" "$H_BODY"
}

# --- operators
is "$(get '/op/eq?a=yes')" "200 eq" "= : equal"
is "$(get '/op/eq?a=Yes')" "200 not eq" "= : case-sensitive"
is "$(get '/op/eq')" "200 not eq" "= : empty variable"
is "$(get '/op/ne?a=no')" "200 ne" "!= : different"
is "$(get '/op/ne?a=yes')" "200 not ne" "!= : equal"
is "$(get '/op/eqvar?a=k&b=k')" "200 same" "= with a variable on the right"
is "$(get '/op/eqvar?a=k&b=j')" "200 differ" "= with a variable on the right, different"
is "$(get '/op/re?a=A12')" "200 re 12" "~ : a match, \$1 in the return after it"
is "$(get '/op/re?a=a12')" "200 no re" "~ : case-sensitive"
is "$(get '/op/rei?a=A7')" "200 rei 7" "~* : caseless"
is "$(get '/op/rei?a=b7')" "200 no rei" "~* : no match"
is "$(get '/op/nre?a=b')" "200 nre" "!~ : no match is true"
is "$(get '/op/nre?a=A')" "200 no nre" "!~ : a match is false"
is "$(get '/op/nrei?a=b')" "200 nrei" "!~* : no match is true"
is "$(get '/op/nrei?a=A')" "200 no nrei" "!~* : a caseless match is false"
is "$(get '/op/var?a=x')" "200 true" "a variable: non-empty is true"
is "$(get '/op/var?a=0')" "200 false" "a variable: \"0\" is false"
is "$(get '/op/var?a=00')" "200 true" "a variable: \"00\" is true"
is "$(get '/op/var')" "200 false" "a variable: empty is false"
is "$(get '/op/method' -X POST)" "200 post" "\$request_method = POST"
is "$(get '/op/method')" "200 other" "\$request_method = POST, a GET"
is "$(get '/op/space?a=x')" "200 spaced" "\"(\" and \")\" standing alone"

# --- captures from an if regex
is "$(get '/op/named?p=one/two')" "200 target /target/two-one srv=" \
    "named captures of an if regex used by a rewrite after it"
is "$(get '/op/named?p=one')" "200 no match" "...no match: the directives after the block"
is "$(get '/loccap/abc?x=5')" "200 cap 5" "a matching if regex replaces the location's captures"

# --- file tests
for c in "f plain yes" "f dir no" "f missing no" "nf missing yes" "nf plain no" "nf dir yes" \
    "d dir yes" "d plain no" "nd plain yes" "nd dir no" "e plain yes" "e dir yes" "e missing no" \
    "ne missing yes" "ne plain no" "x script yes" "x plain no" "x dir yes" "nx plain yes" \
    "nx script no"; do
    set -- $c
    case $1 in n*) op="!-${1#n}" ;; *) op="-$1" ;; esac
    is "$(get "/$1/?p=$2")" "200 $3" "$op on $2: $3"
done

# --- server level
get '/some/path?q=1' -H 'Host: old.test' >/dev/null
is "$H_STATUS" 301 "server-level if: redirect by host"
is "$(hhdr Location)" "http://new.test/some/path?q=1" "...to the new host with the request URI"
is "$(get '/x' -H 'X-Go: go-here-42')" "200 target /target/here-42 srv=srv" \
    "server-level if: set and rewrite with the if's named and numbered captures"
is "$(get '/op/eq?a=yes' -H 'X-Go: nope')" "200 eq" "server-level if false: nothing changes"

# --- order, break, return
is "$(get '/seq/?a=1')" "200 x=inner y=in-if z=after" "a true if: its block, then the directives after it"
is "$(get '/seq/')" "200 x=outer y= z=after" "a false if: its block is skipped"
get '/brk/?stop=1' >/dev/null
is "$H_STATUS" 200 "break inside a true if: the content handler runs"
like "$H_BODY" '^X-V: stopped$' "...the directives after the if did not run"
is "$(get '/brk/')" "200 v=after" "no break: the rest of the location runs"
get '/ret/?r=1' >/dev/null
is "$H_STATUS" 418 "return inside an if"
is "$(get '/ret/')" "200 no return" "...not taken"

# --- the if's block is the request's configuration
get '/px/a?via=backend' >/dev/null
is "$H_STATUS" 200 "proxy_pass inside an if"
like "$H_BODY" '^GET /px/a\?via=backend HTTP/1.0$' "...the request URI as is"
is "$(hhdr X-Backend)" one "...to that backend"
get '/px/a' >/dev/null
is "$H_STATUS" 404 "...a false if: the location has no content"
get '/sw/a?b=two' >/dev/null
is "$(hhdr X-Backend)" two "proxy_pass inside a true if replaces the location's"
like "$H_BODY" '^X-Inh: inherited$' "...with the location's proxy_set_header"
get '/sw/a' >/dev/null
is "$(hhdr X-Backend)" one "...a false if: the location's"
get '/hdr/a?h=1' >/dev/null
is "$H_STATUS" 200 "add_header inside an if, proxied by the location's proxy_pass"
is "$(hhdr X-Backend)" one "...the location's content handler"
is "$(hhdr X-Inner)" inner "...the if's add_header"
hhas X-Outer
isnt $? 0 "...replaces the location's"
like "$H_BODY" '^X-Inh: inherited$' "...the location's proxy settings are inherited"
get '/hdr/a' >/dev/null
is "$(hhdr X-Outer)/$(hhdr X-Inner)" "outer/" "a false if: the location's add_header"
get '/hdrret/?h=1' >/dev/null
is "$(hhdr X-Inner)/$(hhdr X-Outer)/$H_BODY" "inner//hdrret" "add_header inside an if, return after it"
is "$(get '/ep/?e=1')" "200 target /target/ep srv=" "error_page inside a true if"
get '/ep/' >/dev/null
is "$H_STATUS" 404 "...a false if: the location's (none)"
get '/log/?l=1' >/dev/null
get '/log/' >/dev/null
get '/log/?l=2' >/dev/null
t_wait_lines "$T/if-access.log" 2 5
is "$(t_lines "$T/if-access.log")" 2 "access_log inside an if: only the requests that took it"
like "$(cat "$T/if-access.log")" '"GET /log/\?l=2 HTTP/1.1" 200' "...in the combined format"

is "$(get /rf/a/b.html)" "200 $T/www/rf/a/b.html" "\$request_filename: root + \$uri, as nginx"
fc_stop
is $? 0 "stops"
unlike "$(cat "$T/error.log")" '\[(alert|crit|emerg)\]' "no alert/crit in error.log"

# --- quoted words: ")" right after the closing quote ends the condition (nginx's lexer)
fc_conf quoted.conf <<'EOF'
@PRELUDE@
http {
    access_log off;
    server {
        listen 127.0.0.1:@PORT1@;
        location /op/args { if ($args ~ "(^|&)debug=1") { return 200 "debug\n"; } return 200 "quiet\n"; }
        location /op/quoted { if ($http_x_q = "a b") { return 200 "quoted\n"; } return 200 "other\n"; }
        location /op/single { if ($http_x_q = 'a }; b') { return 200 "single\n"; } return 200 "other\n"; }
    }
}
EOF
FC_WAIT_PORTS=$PORT1 fc_start quoted.conf
ok $? "starts with quoted words before \")\""
is "$(get '/op/args?x=1&debug=1')" "200 debug" "a quoted regex with | and parentheses"
is "$(get '/op/args?nodebug=1')" "200 quiet" "...not matching"
is "$(get '/op/quoted' -H 'X-Q: a b')" "200 quoted" "a quoted value with a space"
is "$(get '/op/quoted' -H 'X-Q: a')" "200 other" "...a different value"
is "$(get '/op/single' -H 'X-Q: a }; b')" "200 single" "a single-quoted value with \"}\" and \";\""
fc_stop
is $? 0 "stops"

# --- config errors (-t): nginx's message at file:line

# The -t output with nginx's log prefix rewritten to the "NAME: [emerg] " form.
norm() {
    sed -E "s/^[0-9]{4}\/[0-9]{2}\/[0-9]{2} [0-9:]{8} \[([a-z]+)\] [0-9]+#[0-9]+: /$NAME: [\1] /" \
        "$T/fc_run.out"
}

# bad DESC MSG LINE BODY: a server{} with BODY at line 4 is rejected with MSG at
# LINE (counted as if the prelude were one line).
n=0
pl=$(fc_conf_prelude | wc -l)
bad() {
    n=$((n + 1))
    fc_conf "bad$n.conf" <<EOF
@PRELUDE@
http {
    server { listen 127.0.0.1:@PORT1@;
$4
    }
}
EOF
    fc_run -t -c "$T/bad$n.conf"
    is $? 1 "$1: -t exits 1"
    norm | grep -Fxq -- "$NAME: [emerg] $2 in $T/bad$n.conf:$(($3 + pl - 1))"
    ok $? "$1: \"$2\" at line $3" || { diag "output:"; sed 's/^/#   /' "$T/fc_run.out"; }
}
P='$'
bad "nested if in a location" '"if" directive is not allowed here' 6 \
    "        location / {
            if (${P}arg_a) {
                if (${P}arg_b) { return 200; }
            }
        }"
bad "nested if at server level" '"if" directive is not allowed here' 5 \
    "        if (${P}arg_a) {
            if (${P}arg_b) { return 200; }
        }"
bad "an unknown operator" 'unexpected "==" in condition' 4 \
    "        if (${P}arg_a == b) { return 200; }"
bad "no opening parenthesis" 'invalid condition "$arg_a)"' 4 \
    "        if ${P}arg_a) { return 200; }"
bad "no closing parenthesis" 'invalid condition "$arg_a"' 5 \
    "
        location / { if (${P}arg_a { return 200; } }"
bad "too many words" 'invalid condition "$arg_a"' 4 \
    "        if (${P}arg_a = b c) { return 200; }"
bad "an empty condition" 'invalid condition ")"' 4 \
    "        if () { return 200; }"
bad "an unknown file test" 'invalid condition "-q"' 4 \
    "        if (-q /x) { return 200; }"
bad "a file test without a path" 'invalid condition "!-f"' 4 \
    "        if (!-f) { return 200; }"
bad "neither a variable nor a file test" 'invalid condition "abc"' 4 \
    "        if (abc) { return 200; }"
bad "a directive not allowed in a location's if" '"proxy_set_header" directive is not allowed here' 5 \
    "        location / {
            if (${P}arg_a) { proxy_set_header X y; }
        }"
bad "add_header in a server-level if" '"add_header" directive is not allowed here' 4 \
    "        if (${P}arg_a) { add_header X y; }"
bad "location inside an if" '"location" directive is not allowed here' 5 \
    "        location / {
            if (${P}arg_a) { location /x { } }
        }"
bad "if in http{}" '"if" directive is not allowed here' 5 \
    "    }
    if (${P}arg_a) { }
    server {"
fc_conf uri.conf <<'EOF'
@PRELUDE@
http { server { listen 127.0.0.1:@PORT1@; location / { if ($arg_a) { proxy_pass http://127.0.0.1:@PORT2@/u/; } } } }
EOF
fc_run -t -c "$T/uri.conf"
isnt $? 0 "proxy_pass with a URI inside an if is rejected"
like "$(cat "$T/fc_run.out")" 'cannot have URI part .*inside "if" statement' "...with nginx's message"

done_testing

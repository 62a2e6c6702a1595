//! Latency of several HTTP servers side by side, one request at a time, taking turns:
//!
//! ```text
//! alternate --path PATH [--seconds N] [--max-requests N] [--burst N] [--block N]
//!           NAME=PORT:STATUS[:TOKEN] ...
//! ```
//!
//! Each target is a server on 127.0.0.1 with its own keep-alive connection. The client sends
//! `GET PATH` to the first target `--burst` times (default 20), waiting for each whole answer
//! before the next request, then to the second, and so on in rotation, for `--seconds`
//! (default 20) or `--max-requests` in all (default 1,000,000), whichever comes first. Only one
//! request is ever in flight, so each one sees an idle server, like `wrk -c1`; but the targets
//! take turns every few milliseconds, so a machine whose speed drifts from one second to the
//! next slows them all alike instead of whichever happened to run then. `TOKEN`, when given, is
//! sent as `Authorization: Bearer TOKEN`; an answer whose status is not `STATUS` is counted as
//! unexpected.
//!
//! Prints one line per target: `RESULT name=… path=… requests=… p50_us=… p90_us=… p99_us=…
//! unexpected=… ratio=…`, where `ratio` is the median, over blocks of `--block` requests
//! (default 200), of the block's p50 divided by the first target's p50 in the same block.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// One server under test.
struct Target {
    name: String,
    port: u16,
    expect: u16,
    request: Vec<u8>,
    connection: Option<BufReader<TcpStream>>,
    /// Latency of every request, in microseconds.
    latencies: Vec<u32>,
    unexpected: u64,
}

/// What the command line asked for.
struct Options {
    path: String,
    seconds: u64,
    max_requests: u64,
    block: usize,
    burst: usize,
    targets: Vec<Target>,
}

fn parse_target(spec: &str, path: &str) -> Result<Target, String> {
    let (name, rest) = spec
        .split_once('=')
        .ok_or(format!("`{spec}`: a target is NAME=PORT:STATUS[:TOKEN]"))?;
    let mut parts = rest.splitn(3, ':');
    let port = parts
        .next()
        .and_then(|p| p.parse().ok())
        .ok_or(format!("`{spec}`: no port"))?;
    let expect = parts
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or(format!("`{spec}`: no expected status"))?;
    let mut request =
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: keep-alive\r\n");
    if let Some(token) = parts.next().filter(|t| !t.is_empty()) {
        request.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    request.push_str("\r\n");
    Ok(Target {
        name: name.to_string(),
        port,
        expect,
        request: request.into_bytes(),
        connection: None,
        latencies: Vec::new(),
        unexpected: 0,
    })
}

fn parse_options() -> Result<Options, String> {
    let mut args = std::env::args().skip(1);
    let mut path = None;
    let mut seconds = 20;
    let mut max_requests = 1_000_000;
    let mut block = 200;
    let mut burst = 20;
    let mut specs = Vec::new();
    let number = |value: Option<String>, flag: &str| {
        value
            .and_then(|v| v.parse::<u64>().ok())
            .ok_or(format!("{flag} takes a number"))
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--path" => path = args.next(),
            "--seconds" => seconds = number(args.next(), "--seconds")?,
            "--max-requests" => max_requests = number(args.next(), "--max-requests")?,
            "--block" => block = number(args.next(), "--block")?.max(1) as usize,
            "--burst" => burst = number(args.next(), "--burst")?.max(1) as usize,
            other if !other.starts_with('-') => specs.push(other.to_string()),
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    let path = path.ok_or("--path is required")?;
    if !path.starts_with('/') || path.contains(char::is_whitespace) {
        return Err(format!(
            "`{path}`: the path must start with `/` and hold no spaces"
        ));
    }
    let targets = specs
        .iter()
        .map(|s| parse_target(s, &path))
        .collect::<Result<Vec<_>, _>>()?;
    if targets.is_empty() {
        return Err("name at least one target".into());
    }
    Ok(Options {
        path,
        seconds,
        max_requests,
        block,
        burst,
        targets,
    })
}

/// Reads one HTTP/1.1 answer whole: its status, and whether the connection can carry the next
/// request (not when the answer said `Connection: close` or its body ran to the end of the
/// connection).
fn read_answer(reader: &mut BufReader<TcpStream>) -> Result<(u16, bool), String> {
    let mut line = String::new();
    reader.read_line(&mut line).map_err(|e| e.to_string())?;
    let status: u16 = line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or(format!("not an HTTP status line: `{}`", line.trim_end()))?;
    let mut length = None;
    let mut chunked = false;
    let mut reusable = true;
    loop {
        line.clear();
        if reader.read_line(&mut line).map_err(|e| e.to_string())? == 0 {
            return Err("connection closed in the headers".into());
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = Some(
                    value
                        .parse::<u64>()
                        .map_err(|_| format!("bad content-length `{value}`"))?,
                );
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = value
                    .rsplit(',')
                    .next()
                    .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"));
            } else if name.eq_ignore_ascii_case("connection") {
                reusable &= !value
                    .split(',')
                    .any(|token| token.trim().eq_ignore_ascii_case("close"));
            }
        }
    }
    if (100..200).contains(&status) || status == 204 || status == 304 {
        // No body, whatever the headers say.
    } else if chunked {
        loop {
            line.clear();
            reader.read_line(&mut line).map_err(|e| e.to_string())?;
            let size = u64::from_str_radix(line.trim_end().split(';').next().unwrap_or(""), 16)
                .map_err(|_| format!("bad chunk size `{}`", line.trim_end()))?;
            if size == 0 {
                break;
            }
            skip(reader, size)?;
            line.clear();
            reader.read_line(&mut line).map_err(|e| e.to_string())?;
        }
        // Trailer fields, up to the empty line that ends the answer.
        loop {
            line.clear();
            if reader.read_line(&mut line).map_err(|e| e.to_string())? == 0 {
                return Err("connection closed in the trailer".into());
            }
            if line.trim_end().is_empty() {
                break;
            }
        }
    } else if let Some(length) = length {
        skip(reader, length)?;
    } else {
        // Neither a length nor chunks: the body runs to the end of the connection.
        std::io::copy(reader, &mut std::io::sink()).map_err(|e| e.to_string())?;
        reusable = false;
    }
    Ok((status, reusable))
}

fn skip(reader: &mut BufReader<TcpStream>, bytes: u64) -> Result<(), String> {
    let copied = std::io::copy(&mut reader.by_ref().take(bytes), &mut std::io::sink())
        .map_err(|e| e.to_string())?;
    if copied == bytes {
        Ok(())
    } else {
        Err("connection closed in the body".into())
    }
}

/// A keep-alive connection to a server on 127.0.0.1.
fn connect(port: u16) -> Result<BufReader<TcpStream>, String> {
    let stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| e.to_string())?;
    Ok(BufReader::new(stream))
}

/// One request on the target's connection (opened again when the server closed it).
fn exchange(target: &mut Target) -> Result<(Duration, u16), String> {
    for attempt in 0..2 {
        let started = Instant::now();
        let reader = match &mut target.connection {
            Some(reader) => reader,
            None => target
                .connection
                .insert(connect(target.port).map_err(|e| format!("{}: {e}", target.name))?),
        };
        let answer = reader
            .get_mut()
            .write_all(&target.request)
            .map_err(|e| e.to_string())
            .and_then(|()| read_answer(reader));
        match answer {
            Ok((status, reusable)) => {
                let elapsed = started.elapsed();
                if !reusable {
                    target.connection = None;
                }
                return Ok((elapsed, status));
            }
            // A kept-alive connection the server had closed: one more try on a new one.
            Err(_) if attempt == 0 => target.connection = None,
            Err(e) => return Err(format!("{}: {e}", target.name)),
        }
    }
    Err(format!("{}: no answer", target.name))
}

fn percentile(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted.get(rank).copied().unwrap_or(0)
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    match (xs.get(n / 2), n.checked_sub(1).and_then(|i| xs.get(i / 2))) {
        (Some(a), Some(b)) if n.is_multiple_of(2) => (a + b) / 2.0,
        (Some(a), _) => *a,
        _ => f64::NAN,
    }
}

fn run() -> Result<(), String> {
    let mut options = parse_options()?;
    let deadline = Instant::now() + Duration::from_secs(options.seconds);
    let mut sent = 0u64;
    while Instant::now() < deadline && sent < options.max_requests {
        for target in &mut options.targets {
            for _ in 0..options.burst {
                let (elapsed, status) = exchange(target)?;
                target
                    .latencies
                    .push(u32::try_from(elapsed.as_micros()).unwrap_or(u32::MAX));
                if status != target.expect {
                    target.unexpected += 1;
                }
                sent += 1;
            }
        }
    }
    let samples = options
        .targets
        .iter()
        .map(|t| t.latencies.len())
        .min()
        .unwrap_or(0);
    // Each target's p50 in every whole block of `--block` requests.
    let block_p50s = |latencies: &[u32]| -> Vec<f64> {
        latencies
            .get(..samples)
            .unwrap_or(&[])
            .chunks_exact(options.block)
            .map(|block| {
                let mut block = block.to_vec();
                block.sort_unstable();
                f64::from(percentile(&block, 0.5))
            })
            .collect()
    };
    let base = options
        .targets
        .first()
        .map(|t| block_p50s(&t.latencies))
        .unwrap_or_default();
    for target in &options.targets {
        let ratios: Vec<f64> = block_p50s(&target.latencies)
            .iter()
            .zip(&base)
            .map(|(p50, base)| p50 / base.max(1.0))
            .collect();
        let ratio = median(ratios);
        let mut sorted = target.latencies.clone();
        sorted.sort_unstable();
        println!(
            "RESULT name={} path={} requests={} p50_us={} p90_us={} p99_us={} unexpected={} ratio={ratio:.4}",
            target.name,
            options.path,
            sorted.len(),
            percentile(&sorted, 0.5),
            percentile(&sorted, 0.9),
            percentile(&sorted, 0.99),
            target.unexpected,
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("alternate: {e}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// A server on 127.0.0.1 that answers each connection's requests with `answers` in turn,
    /// then closes it; it serves `connections` connections.
    fn serve(answers: &'static [&'static str], connections: usize) -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for stream in listener.incoming().take(connections) {
                let mut reader = BufReader::new(stream.unwrap());
                for answer in answers {
                    let mut line = String::new();
                    while reader.read_line(&mut line).unwrap() > 0 && line != "\r\n" {
                        line.clear();
                    }
                    reader.get_mut().write_all(answer.as_bytes()).unwrap();
                }
            }
        });
        port
    }

    fn target(port: u16, token: &str) -> Target {
        parse_target(&format!("t={port}:200:{token}"), "/x").unwrap()
    }

    #[test]
    fn reads_sized_and_chunked_answers_on_one_connection() {
        let port = serve(
            &[
                "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
                "HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n",
                "HTTP/1.1 204 No Content\r\n\r\n",
            ],
            1,
        );
        let mut t = target(port, "");
        assert_eq!(exchange(&mut t).unwrap().1, 200);
        assert_eq!(exchange(&mut t).unwrap().1, 403);
        assert_eq!(exchange(&mut t).unwrap().1, 204);
    }

    #[test]
    fn reads_trailers_and_answers_that_end_with_their_connection() {
        let port = serve(
            &[
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-Checksum: 1\r\nX-More: 2\r\n\r\n",
                "HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 2\r\n\r\nno",
            ],
            2,
        );
        let mut t = target(port, "");
        assert_eq!(exchange(&mut t).unwrap().1, 200);
        assert_eq!(exchange(&mut t).unwrap().1, 403);
        assert!(t.connection.is_none(), "`Connection: close` is honoured");
        // The second connection: the same two answers again, on a fresh connection.
        assert_eq!(exchange(&mut t).unwrap().1, 200);

        let port = serve(
            &["HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nto the end"],
            2,
        );
        let mut t = target(port, "");
        assert_eq!(exchange(&mut t).unwrap().1, 200);
        assert!(
            t.connection.is_none(),
            "a body that runs to the end closes the connection"
        );
        assert_eq!(exchange(&mut t).unwrap().1, 200);
    }

    #[test]
    fn opens_a_new_connection_when_the_server_closed_one() {
        let port = serve(&["HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"], 2);
        let mut t = target(port, "tok");
        assert_eq!(exchange(&mut t).unwrap().1, 200);
        assert_eq!(exchange(&mut t).unwrap().1, 200);
    }

    #[test]
    fn sends_the_token_as_a_bearer_header() {
        let t = target(1, "abc.def");
        let request = String::from_utf8(t.request).unwrap();
        assert!(request.starts_with("GET /x HTTP/1.1\r\n"));
        assert!(request.contains("\r\nAuthorization: Bearer abc.def\r\n"));
        assert!(!target(1, "")
            .request
            .windows(13)
            .any(|w| w == b"Authorization"));
    }

    #[test]
    fn refuses_malformed_targets_and_status_lines() {
        assert!(parse_target("t=notaport:200", "/x").is_err());
        assert!(parse_target("t=80", "/x").is_err());
        assert!(parse_target("noequals", "/x").is_err());
        let port = serve(&["garbage\r\n\r\n"], 2);
        assert!(exchange(&mut target(port, "")).is_err());
    }

    #[test]
    fn percentiles_and_medians() {
        assert_eq!(percentile(&[1, 2, 3, 4, 5], 0.5), 3);
        assert_eq!(percentile(&[], 0.5), 0);
        assert_eq!(median(vec![3.0, 1.0, 2.0, 10.0]), 2.5);
        assert_eq!(median(vec![3.0]), 3.0);
    }
}

//! Members as separate processes in network namespaces this test creates:
//! veth pairs on a bridge (in a namespace of its own, so the host's network
//! is never touched), packet loss and full cuts with nftables, a killed
//! process, a paused (SIGSTOP) one and a partition that heals by itself.
//!
//! Needs root, `ip` and `nft`. Where namespaces cannot be created it prints
//! why and reports SKIPPED; set `MURMURA_REQUIRE_NETNS=1` to fail instead.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const MEMBERS: usize = 5;
const PORT: u16 = 7946;

fn run(args: &[&str]) -> Result<(), String> {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .map_err(|e| format!("{}: {e}", args[0]))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`{}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn nft(ns: &str, script: &str) -> Result<(), String> {
    use std::io::Write;
    let mut child = Command::new("ip")
        .args(["netns", "exec", ns, "nft", "-f", "-"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("nft: {e}"))?;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .map_err(|e| e.to_string())?;
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "nft in {ns}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Namespaces, and the processes in them, removed on drop.
struct Lab {
    prefix: String,
    children: Vec<Option<Child>>,
    views: Vec<Arc<Mutex<String>>>,
}

impl Lab {
    fn hub(&self) -> String {
        format!("{}h", self.prefix)
    }
    fn ns(&self, i: usize) -> String {
        format!("{}{}", self.prefix, i)
    }
    fn ip(i: usize) -> String {
        format!("10.213.0.{}", i + 1)
    }

    fn create() -> Result<Self, String> {
        let prefix = format!("mg{}x", std::process::id());
        let lab = Lab {
            prefix,
            children: Vec::new(),
            views: Vec::new(),
        };
        let hub = lab.hub();
        run(&["ip", "netns", "add", &hub])?;
        run(&["ip", "-n", &hub, "link", "add", "br0", "type", "bridge"])?;
        run(&["ip", "-n", &hub, "link", "set", "br0", "up"])?;
        for i in 0..MEMBERS {
            let ns = lab.ns(i);
            let veth = format!("v{i}");
            run(&["ip", "netns", "add", &ns])?;
            run(&[
                "ip", "-n", &hub, "link", "add", &veth, "type", "veth", "peer", "name", "eth0",
                "netns", &ns,
            ])?;
            run(&[
                "ip", "-n", &hub, "link", "set", &veth, "master", "br0", "up",
            ])?;
            run(&[
                "ip",
                "-n",
                &ns,
                "addr",
                "add",
                &format!("{}/24", Self::ip(i)),
                "dev",
                "eth0",
            ])?;
            run(&["ip", "-n", &ns, "link", "set", "eth0", "up"])?;
            run(&["ip", "-n", &ns, "link", "set", "lo", "up"])?;
            // One table per member for loss and cuts, filled in later.
            nft(
                &ns,
                "table inet murmura {\n chain input { type filter hook input priority 0; }\n chain output { type filter hook output priority 0; }\n}\n",
            )?;
        }
        Ok(lab)
    }

    fn spawn(&mut self, i: usize, bin: &PathBuf) -> Result<(), String> {
        let bind = format!("{}:{PORT}", Self::ip(i));
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.ns(i)])
            .arg(bin)
            .arg(format!("n{i}"))
            .arg(bind);
        if i > 0 {
            cmd.arg(format!("{}:{PORT}", Self::ip(0)));
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| e.to_string())?;
        let view = Arc::new(Mutex::new(String::new()));
        let out = child.stdout.take().unwrap();
        let sink = view.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if let Some(v) = line.strip_prefix("VIEW ") {
                    *sink.lock().unwrap() = v.to_owned();
                }
            }
        });
        self.children.push(Some(child));
        self.views.push(view);
        Ok(())
    }

    /// What member `observer` last reported about `name`.
    fn state(&self, observer: usize, name: &str) -> Option<String> {
        let view = self.views[observer].lock().unwrap().clone();
        view.split(' ')
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")).map(str::to_owned))
    }

    fn all_see(&self, observers: &[usize], name: &str, state: &str) -> bool {
        observers
            .iter()
            .all(|o| self.state(*o, name).as_deref() == Some(state))
    }

    fn signal(&self, i: usize, sig: &str) {
        if let Some(c) = &self.children[i] {
            // `ip netns exec` execs the binary, so the child's pid is the member's.
            let _ = run(&["kill", sig, &c.id().to_string()]);
        }
    }

    fn set_rules(&self, i: usize, input: &str, output: &str) -> Result<(), String> {
        nft(
            &self.ns(i),
            &format!(
                "flush chain inet murmura input\nflush chain inet murmura output\n{input}{output}"
            ),
        )
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for c in self.children.iter_mut().flatten() {
            let _ = c.kill();
            let _ = c.wait();
        }
        for i in 0..MEMBERS {
            let _ = run(&["ip", "netns", "del", &self.ns(i)]);
        }
        let _ = run(&["ip", "netns", "del", &self.hub()]);
    }
}

fn wait(secs: u64, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < end {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    cond()
}

fn node_binary() -> Option<PathBuf> {
    // Cargo builds the package's binaries before its integration tests.
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_gossip-node"));
    bin.exists().then_some(bin)
}

fn skip(why: &str) {
    if std::env::var_os("MURMURA_REQUIRE_NETNS").is_some() {
        panic!("network-namespace test cannot run: {why}");
    }
    eprintln!("netns test SKIPPED: {why}");
    println!("netns test SKIPPED: {why}");
}

#[test]
fn processes_in_namespaces_join_detect_and_heal() {
    if std::env::consts::OS != "linux" {
        return skip("not Linux");
    }
    let Some(bin) = node_binary() else {
        return skip("the gossip-node binary is missing");
    };
    if Command::new("nft").arg("--version").output().is_err() {
        return skip("`nft` (nftables) is not installed");
    }
    let mut lab = match Lab::create() {
        Ok(lab) => lab,
        Err(why) => {
            return skip(&format!(
                "cannot create namespaces ({why}); root is required"
            ));
        }
    };
    for i in 0..MEMBERS {
        lab.spawn(i, &bin).expect("member starts");
    }
    let all: Vec<usize> = (0..MEMBERS).collect();
    let names: Vec<String> = all.iter().map(|i| format!("n{i}")).collect();
    assert!(
        wait(30, || names.iter().all(|n| lab.all_see(&all, n, "alive"))),
        "members did not join: {:?}",
        lab.views
            .iter()
            .map(|v| v.lock().unwrap().clone())
            .collect::<Vec<_>>()
    );

    // 10% random loss of every packet from here on.
    let lossy = "add rule inet murmura input numgen random mod 100 < 10 drop\n";
    for i in 0..MEMBERS {
        lab.set_rules(i, lossy, "").unwrap();
    }

    // A slow member: paused long enough to be suspected by the others; once
    // it runs again it must refute (or rejoin) and be alive everywhere.
    lab.signal(3, "-STOP");
    assert!(
        wait(20, || [0usize, 1, 2]
            .iter()
            .any(|o| lab.state(*o, "n3").as_deref() != Some("alive"))),
        "the paused member was never suspected"
    );
    lab.signal(3, "-CONT");

    // A killed member is detected as failed.
    lab.signal(4, "-KILL");
    let rest = [0usize, 1, 2, 3];
    assert!(
        wait(30, || lab.all_see(&rest, "n4", "dead")),
        "killed member not detected"
    );
    assert!(
        wait(30, || lab.all_see(&rest, "n3", "alive")),
        "the paused member did not come back"
    );

    // A full cut between {0,1} and {2,3}: each side gives the other up...
    let cut = |from: &[usize]| -> String {
        let ips: Vec<String> = from.iter().map(|i| Lab::ip(*i)).collect();
        format!("ip saddr {{ {} }} drop\n", ips.join(", "))
    };
    for (mine, theirs) in [([0usize, 1], [2usize, 3]), ([2, 3], [0, 1])] {
        for i in mine {
            let input = format!("add rule inet murmura input {}{lossy}", cut(&theirs));
            let output = format!(
                "add rule inet murmura output ip daddr {{ {} }} drop\n",
                theirs.map(Lab::ip).join(", ")
            );
            lab.set_rules(i, &input, &output).unwrap();
        }
    }
    assert!(
        wait(45, || lab.all_see(&[0, 1], "n2", "dead")
            && lab.all_see(&[2, 3], "n0", "dead")),
        "the partition was not noticed"
    );
    // ...and the partition heals by itself once the cut is gone.
    for i in rest {
        lab.set_rules(i, lossy, "").unwrap();
    }
    assert!(
        wait(60, || ["n0", "n1", "n2", "n3"]
            .iter()
            .all(|n| lab.all_see(&rest, n, "alive"))),
        "the partition did not heal: {:?}",
        lab.views
            .iter()
            .map(|v| v.lock().unwrap().clone())
            .collect::<Vec<_>>()
    );
}

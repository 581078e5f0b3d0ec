//! Interop: a real softphone (baresip 1.0, Debian `baresip-core`) calls
//! `vxp serve` over loopback. It hears the hello sample's prompt (its
//! recording is compared with espeak-ng's rendering of the same words), sends
//! RFC 4733 DTMF to the directory menu (the call log shows the key and the
//! branch taken), and both ends hang up cleanly. See `tests/interop/README.md`.

#[path = "../interop/harness.rs"]
mod harness;

use std::time::Duration;

use harness::{Baresip, Server};
use vxp_platform::serve::CallNote;

const TOOLS: &[&str] = &["baresip", "sox", "espeak-ng"];

#[test]
fn baresip_hears_the_hello_prompt_and_the_call_ends_cleanly() {
    if !harness::tools_present(TOOLS) {
        return;
    }
    let dir = harness::scratch("hello");
    let caller = harness::silence_wav(&dir, 60);
    let mut server = Server::start();
    let mut phone = Baresip::start(&dir, &caller);
    phone.command("dial", &format!("sip:hello@{}", server.sip()));
    assert!(
        phone.wait_event("CALL_ESTABLISHED", Duration::from_secs(10)),
        "call not established; baresip log in {}",
        dir.display()
    );
    let notes = server.wait_note(Duration::from_secs(30), |n| {
        matches!(n, CallNote::Ended { .. })
    });
    assert!(
        notes.contains(&CallNote::Log {
            label: Some("hello".into()),
            text: "greeted the caller".into()
        }),
        "{notes:#?}"
    );
    assert!(
        notes.contains(&CallNote::Ended { how: "exit".into() }),
        "{notes:#?}"
    );
    // The platform sends BYE once the prompt has been played.
    assert!(
        phone.wait_event("CALL_CLOSED", Duration::from_secs(30)),
        "the platform did not hang up"
    );
    drop(phone);
    let files = Baresip::received(&dir);
    assert_eq!(files.len(), 1, "one recording of the far end: {files:?}");
    let heard = harness::read_wav(&files[0]);
    let env = harness::envelope(&heard);
    let loud = env.iter().filter(|&&v| v > 300.0).count();
    assert!(
        loud > 20,
        "the recording is (nearly) silent: {loud} loud windows"
    );
    // The prompt: the greeting, the sample's chime (a WAV file), the welcome.
    let mut expected = harness::espeak_8k(&dir, "Hello, world!");
    let chime = dir.join("chime-8k.wav");
    harness::run(
        std::process::Command::new("sox")
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../vxml-samples/hello/audio/chime.wav"
            ))
            .args(["-r", "8000", "-c", "1", "-b", "16"])
            .arg(&chime),
    );
    expected.extend(harness::read_wav(&chime));
    expected.extend(harness::espeak_8k(
        &dir,
        "Welcome to VXP, the open voice platform.",
    ));
    let expected_env = harness::envelope(&expected);
    let a = harness::voiced(&env, 300.0);
    let b = harness::voiced(&expected_env, 300.0);
    let ratio = a.len() as f64 / b.len().max(1) as f64;
    assert!(
        (0.85..1.15).contains(&ratio),
        "heard {} windows, expected {}",
        a.len(),
        b.len()
    );
    let r = harness::best_correlation(a, b, 5);
    assert!(
        r > 0.6,
        "envelope correlation {r:.2} with the expected prompt"
    );
}

#[test]
fn baresip_dtmf_picks_a_menu_choice() {
    if !harness::tools_present(TOOLS) {
        return;
    }
    let dir = harness::scratch("dtmf");
    let caller = harness::silence_wav(&dir, 60);
    let mut server = Server::start();
    let mut phone = Baresip::start(&dir, &caller);
    phone.command("dial", &format!("sip:directory@{}", server.sip()));
    assert!(phone.wait_event("CALL_ESTABLISHED", Duration::from_secs(10)));
    server.wait_note(
        Duration::from_secs(20),
        |n| matches!(n, CallNote::Prompt(p) if p.contains("Welcome to Example Corporation")),
    );
    // Press 1 while the menu is read (barge-in) : Sales.
    std::thread::sleep(Duration::from_millis(800));
    phone.command("sndcode", "1");
    let notes = server.wait_note(
        Duration::from_secs(20),
        |n| matches!(n, CallNote::Prompt(p) if p.contains("Sales is open")),
    );
    assert!(notes.contains(&CallNote::Dtmf('1')), "{notes:#?}");
    phone.command("hangup", "");
    let notes = server.wait_note(Duration::from_secs(20), |n| {
        matches!(n, CallNote::Ended { .. })
    });
    assert!(
        notes.iter().any(
            |n| matches!(n, CallNote::Event { name, .. } if name == "connection.disconnect.hangup")
        ),
        "{notes:#?}"
    );
}

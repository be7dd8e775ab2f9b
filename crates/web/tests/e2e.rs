//! End-to-end tests in Debian's Chromium (headless) driven through chromedriver (W3C WebDriver,
//! spoken here over plain HTTP): a fake camera plays a y4m video made at test time from a real
//! face photo of the shared data (or a face-free frame), at a laptop size (1280x800) and a phone
//! size (390x844, 2x pixels). The tests FAIL (not skip) without chromium/chromedriver
//! (`scripts/system-deps.sh` installs them) or without the shared data.
//!
//! Set `MOODLENS_SCREENSHOT=/abs/path.png` to save a screenshot of the page in use (the README's
//! `docs/screenshot.png` was taken this way).

mod common;

use common::{happy_photos, server_in};
use moodlens_vision::opencv::core::{Mat, Rect, Scalar, Size, CV_8UC3};
use moodlens_vision::opencv::imgcodecs;
use moodlens_vision::opencv::imgproc;
use moodlens_vision::opencv::prelude::*;
use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One browser at a time (2-core machines).
static BROWSER: Mutex<()> = Mutex::new(());

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

fn find_program(names: &[&str], extra: &[&str]) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for n in names {
        for d in std::env::split_paths(&path) {
            let p = d.join(n);
            if p.is_file() {
                return p;
            }
        }
    }
    for e in extra {
        if Path::new(e).is_file() {
            return PathBuf::from(e);
        }
    }
    panic!(
        "{} not found: install chromium and chromium-driver (bash scripts/system-deps.sh)",
        names.join(" or ")
    );
}

/// A minimal W3C WebDriver client over chromedriver.
struct Driver {
    base: String,
    session: String,
    child: Child,
    _profile: tempfile::TempDir,
}

impl Driver {
    fn start(vp: Viewport, chrome_args: &[String]) -> Driver {
        Driver::start_env(vp, chrome_args, &[])
    }

    fn start_env(vp: Viewport, chrome_args: &[String], env: &[(&str, &str)]) -> Driver {
        let chromedriver = find_program(&["chromedriver"], &["/usr/lib/chromium/chromedriver"]);
        let chromium = find_program(
            &["chromium", "chromium-browser"],
            &["/usr/lib/chromium/chromium"],
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", chromedriver.display()));
        let base = format!("http://127.0.0.1:{port}");
        let t0 = Instant::now();
        loop {
            if let Ok(r) = ureq::get(&format!("{base}/status")).call() {
                let v: Value = r.into_json().unwrap_or_default();
                if v["value"]["ready"] == true {
                    break;
                }
            }
            assert!(
                t0.elapsed() < Duration::from_secs(30),
                "chromedriver did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = tempfile::tempdir().unwrap();
        let mut args: Vec<String> = vec![
            "--headless=new".into(),
            "--no-sandbox".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-gpu".into(),
            format!("--window-size={},{}", vp.width, vp.height),
            format!("--force-device-scale-factor={}", vp.dpr),
            "--lang=en-US".into(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        args.extend_from_slice(chrome_args);
        // the phone through Chromium's device emulation (a headless window is at least 500 px)
        let mut options = json!({"binary": chromium, "args": args});
        if vp.phone() {
            options["mobileEmulation"] = json!({"deviceMetrics": {
                "width": vp.width, "height": vp.height, "pixelRatio": vp.dpr, "mobile": true, "touch": true}});
        }
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:loggingPrefs": {"browser": "ALL"},
            "goog:chromeOptions": options
        }}});
        let mut d = Driver {
            base,
            session: String::new(),
            child,
            _profile: profile,
        };
        let v = d.call("POST", "/session", Some(caps));
        d.session = v["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {v}"))
            .to_string();
        d
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = if path == "/session" {
            format!("{}{path}", self.base)
        } else {
            format!("{}/session/{}{path}", self.base, self.session)
        };
        let req = ureq::request(method, &url).timeout(Duration::from_secs(120));
        let r = match body {
            Some(b) => req.send_json(b),
            None if method == "POST" => req.send_json(json!({})),
            None => req.call(),
        };
        let resp = match r {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => {
                let v: Value = r.into_json().unwrap_or_default();
                panic!("webdriver {method} {path}: {v}");
            }
            Err(e) => panic!("webdriver {method} {path}: {e}"),
        };
        let v: Value = resp.into_json().expect("webdriver JSON");
        v["value"].clone()
    }

    fn goto(&self, url: &str) {
        self.call("POST", "/url", Some(json!({ "url": url })));
    }

    fn find(&self, css: &str) -> String {
        let v = self.call(
            "POST",
            "/element",
            Some(json!({"using": "css selector", "value": css})),
        );
        v[ELEMENT].as_str().expect("element id").to_string()
    }

    fn click(&self, css: &str) {
        let id = self.find(css);
        self.call("POST", &format!("/element/{id}/click"), None);
    }

    /// The rendered text of the first element matching `css`, read in one script call: the page
    /// re-renders its panels on every frame, so an element id found first may be stale by the time
    /// its text would be fetched.
    fn text(&self, css: &str) -> String {
        let css = serde_json::to_string(css).unwrap();
        let v = self.js(&format!(
            "const e = document.querySelector({css}); return e ? e.innerText : null;"
        ));
        v.as_str()
            .unwrap_or_else(|| panic!("no element {css} on the page"))
            .to_string()
    }

    fn type_into(&self, css: &str, text: &str) {
        let id = self.find(css);
        self.call(
            "POST",
            &format!("/element/{id}/value"),
            Some(json!({ "text": text })),
        );
    }

    fn js(&self, script: &str) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": []})),
        )
    }

    /// Polls `script` until it returns something truthy.
    fn wait_for(&self, script: &str, timeout: Duration, what: &str) -> Value {
        let t0 = Instant::now();
        loop {
            let v = self.js(script);
            let truthy = !(v.is_null()
                || v == json!(false)
                || v == json!(0)
                || v == json!("")
                || v == json!([]));
            if truthy {
                return v;
            }
            if t0.elapsed() > timeout {
                let status = self.text("#status") + " / history: " + &self.text("#history-note");
                let log = self.call("POST", "/se/log", Some(json!({"type": "browser"})));
                panic!(
                    "timed out waiting for {what} (page status: '{status}'; browser log: {log})"
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Presses a key (W3C key code, e.g. ENTER) on whatever has the focus, as a keyboard user would.
    fn press(&self, key: &str) {
        self.call(
            "POST",
            "/actions",
            Some(
                json!({"actions": [{"type": "key", "id": "keyboard", "actions": [
                {"type": "keyDown", "value": key}, {"type": "keyUp", "value": key}]}]}),
            ),
        );
    }

    /// Moves the mouse to (x, y) CSS pixels from the top-left corner of `css`'s element and clicks.
    fn click_at(&self, css: &str, x: f64, y: f64) {
        let id = self.find(css);
        let rect = self.call("GET", &format!("/element/{id}/rect"), None);
        let (w, h) = (
            rect["width"].as_f64().unwrap(),
            rect["height"].as_f64().unwrap(),
        );
        let origin = json!({ ELEMENT: id });
        let (ox, oy) = ((x - w / 2.0).round() as i64, (y - h / 2.0).round() as i64);
        self.call(
            "POST",
            "/actions",
            Some(json!({"actions": [{"type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"}, "actions": [
                {"type": "pointerMove", "origin": origin, "x": ox, "y": oy, "duration": 0},
                {"type": "pointerDown", "button": 0}, {"type": "pointerUp", "button": 0}]}]})),
        );
    }

    /// The id of the focused element ("BODY" when the focus is lost).
    fn focused(&self) -> String {
        self.js("const a=document.activeElement; return a ? (a.id || a.tagName) : 'none';")
            .as_str()
            .unwrap_or("none")
            .to_string()
    }

    fn screenshot(&self) -> Vec<u8> {
        use base64::Engine;
        let v = self.call("GET", "/screenshot", None);
        base64::engine::general_purpose::STANDARD
            .decode(v.as_str().expect("base64"))
            .expect("PNG")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = ureq::delete(&format!("{}/session/{}", self.base, self.session))
                .timeout(Duration::from_secs(20))
                .call();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A 640x480 YUV4MPEG2 (4:2:0) clip of a real face photo, for Chromium's fake camera.
fn face_y4m(photo: &Path, out: &Path) {
    let img = imgcodecs::imread(photo.to_str().unwrap(), imgcodecs::IMREAD_COLOR).unwrap();
    assert!(!img.empty(), "cannot read {}", photo.display());
    let (w, h) = (640, 480);
    let mut canvas = Mat::new_rows_cols_with_default(h, w, CV_8UC3, Scalar::all(90.0)).unwrap();
    let side = 440;
    let mut face = Mat::default();
    imgproc::resize(
        &img,
        &mut face,
        Size::new(side, side),
        0.0,
        0.0,
        imgproc::INTER_AREA,
    )
    .unwrap();
    let mut roi = Mat::roi_mut(
        &mut canvas,
        Rect::new((w - side) / 2, (h - side) / 2, side, side),
    )
    .unwrap();
    face.copy_to(&mut roi).unwrap();
    let mut yuv = Mat::default();
    imgproc::cvt_color_def(&canvas, &mut yuv, imgproc::COLOR_BGR2YUV_I420).unwrap();
    let bytes = yuv.data_bytes().unwrap();
    assert_eq!(bytes.len(), (w * h * 3 / 2) as usize);
    let mut f = std::io::BufWriter::new(std::fs::File::create(out).unwrap());
    writeln!(f, "YUV4MPEG2 W{w} H{h} F10:1 Ip A1:1 C420jpeg").unwrap();
    for _ in 0..10 {
        f.write_all(b"FRAME\n").unwrap();
        f.write_all(bytes).unwrap();
    }
    f.flush().unwrap();
}

/// The two screens every page test runs on: a laptop and a phone (2x pixels).
#[derive(Debug, Clone, Copy)]
struct Viewport {
    width: u32,
    height: u32,
    dpr: u32,
}

const LAPTOP: Viewport = Viewport {
    width: 1280,
    height: 800,
    dpr: 1,
};
const PHONE: Viewport = Viewport {
    width: 390,
    height: 844,
    dpr: 2,
};
const VIEWPORTS: [Viewport; 2] = [LAPTOP, PHONE];

impl Viewport {
    fn phone(&self) -> bool {
        self.width < 600
    }
}

/// A grey 640x480 frame with no face.
fn empty_y4m(out: &Path) {
    let (w, h) = (640, 480);
    let canvas = Mat::new_rows_cols_with_default(h, w, CV_8UC3, Scalar::all(90.0)).unwrap();
    let mut yuv = Mat::default();
    imgproc::cvt_color_def(&canvas, &mut yuv, imgproc::COLOR_BGR2YUV_I420).unwrap();
    let bytes = yuv.data_bytes().unwrap();
    let mut f = std::io::BufWriter::new(std::fs::File::create(out).unwrap());
    writeln!(f, "YUV4MPEG2 W{w} H{h} F10:1 Ip A1:1 C420jpeg").unwrap();
    for _ in 0..10 {
        f.write_all(b"FRAME\n").unwrap();
        f.write_all(bytes).unwrap();
    }
    f.flush().unwrap();
}

fn fake_camera(y4m: &Path) -> Vec<String> {
    vec![
        "--use-fake-ui-for-media-stream".into(),
        "--use-fake-device-for-media-stream".into(),
        format!("--use-file-for-fake-video-capture={}", y4m.display()),
    ]
}

/// Checks every page state should pass: the window is the asked size, nothing scrolls sideways.
fn layout_checks(d: &Driver, vp: Viewport, when: &str) {
    let v = d.js(
        "return [window.innerWidth, document.documentElement.scrollWidth, window.devicePixelRatio]",
    );
    assert_eq!(v[0].as_u64(), Some(vp.width as u64), "{when}: window {v}");
    assert!(
        v[1].as_u64().unwrap() <= vp.width as u64,
        "{when}: the page is {} px wide on a {} px screen (horizontal scroll)",
        v[1],
        vp.width
    );
    assert_eq!(v[2].as_f64(), Some(vp.dpr as f64), "{when}: {v}");
}

/// WCAG contrast of every visible text and control against the colour behind it, read from the
/// page's computed styles, and of the overlay's label colours (the page's own table) against its
/// label box: all must reach 4.5:1. Returns how many elements were checked.
fn contrast_checks(d: &Driver, when: &str) -> u64 {
    let v = d.js(r#"
        const parse = (c) => { const m = c.match(/rgba?\(([^)]+)\)/); if (!m) return null;
            const p = m[1].split(',').map(Number); return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; };
        const hex = (h) => [parseInt(h.slice(1,3),16), parseInt(h.slice(3,5),16), parseInt(h.slice(5,7),16), 1];
        const lum = (c) => { const f = (x) => { x /= 255; return x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4); };
            return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]); };
        const ratio = (a, b) => { const x = lum(a), y = lum(b); return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05); };
        const bg = (e) => { for (; e; e = e.parentElement) { const c = parse(getComputedStyle(e).backgroundColor);
            if (c && c[3] > 0.5) return c; } return [255, 255, 255, 1]; };
        const bad = []; let n = 0;
        const sel = 'button, a, label, p, li, h1, h2, h3, legend, summary, td, th, span, code, select, div.reason, strong';
        for (const e of document.querySelectorAll(sel)) {
            if (e.closest('[aria-disabled="true"], [hidden], .sr')) continue;
            const r = e.getBoundingClientRect(); if (!r.width || !r.height) continue;
            const cs = getComputedStyle(e); if (cs.visibility === 'hidden' || cs.display === 'none') continue;
            const own = Array.from(e.childNodes).some((c) => c.nodeType === 3 && c.textContent.trim());
            if (!own) continue;
            n++;
            const k = ratio(parse(cs.color), bg(e));
            if (k < 4.5) bad.push(e.tagName + '#' + e.id + '.' + e.className + ' "' + e.textContent.trim().slice(0, 30) + '" ' + k.toFixed(2));
        }
        const m = window.moodlens;
        for (const [name, c] of Object.entries(m.LABEL_COLORS)) {
            n++;
            const k = ratio(hex(c), hex(m.LABEL_BG));
            if (k < 4.5) bad.push('overlay label ' + name + ' ' + k.toFixed(2));
        }
        return [n, bad];
    "#);
    let bad = v[1].as_array().unwrap();
    assert!(bad.is_empty(), "{when}: contrast below 4.5:1: {bad:?}");
    v[0].as_u64().unwrap()
}

fn painted_overlay(d: &Driver) -> u64 {
    d.js("const c=document.getElementById('overlay');if(!c.width||!c.height)return 0;const d=c.getContext('2d').getImageData(0,0,c.width,c.height).data;let n=0;for(let i=3;i<d.length;i+=4){if(d[i])n++;}return n;")
        .as_u64()
        .unwrap()
}

fn wait_history_count(d: &Driver, n: u64, what: &str) {
    d.wait_for(
        &format!("return window.moodlens.historyCount === {n} && fetch('/api/history').then(r => r.json()).then(h => h.count === {n})"),
        Duration::from_secs(30),
        what,
    );
}

const ENTER: &str = "\u{E007}";
const TAB: &str = "\u{E004}";

/// Camera session at both sizes: keyboard Start/Finish with the focus kept, a mirrored preview,
/// boxes and labels without tracker numbers, the bar chart in view and sharp, a camera picker;
/// after Finish nothing stale stays drawn, the phone scrolls to the results, a strategy switch
/// keeps "Session mood" and updates the one history entry; Like/Dislike with text, distinct
/// chosen states, 44 px targets on the phone, My likes with undo; contrast of labels and controls.
#[test]
fn camera_session_in_chromium() {
    let _one = BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let y4m = dir.path().join("face.y4m");
    face_y4m(&happy_photos()[1], &y4m);
    for vp in VIEWPORTS {
        let db_dir = tempfile::tempdir().unwrap();
        let srv = server_in(db_dir.path(), |_, _| {});
        let d = Driver::start(vp, &fake_camera(&y4m));
        d.goto(&format!("{}/", srv.url()));
        assert_eq!(d.js("return document.title"), json!("moodlens"));
        d.wait_for(
            "return document.getElementById('history-note').textContent.includes('No history')",
            Duration::from_secs(20),
            "the empty history",
        );
        layout_checks(&d, vp, "start page");
        // keyboard: Enter on Start; the focus moves to Finish (bug 7)
        d.js("document.getElementById('start-camera').focus()");
        d.press(ENTER);
        let n = d.wait_for(
            "return window.moodlens.framesWithFaces >= 4 && window.moodlens.framesWithFaces",
            Duration::from_secs(90),
            "face boxes from the camera",
        );
        assert!(n.as_u64().unwrap() >= 4);
        assert_eq!(d.focused(), "finish", "focus after Start ({vp:?})");
        let faces = d.js("return window.moodlens.lastFaces");
        assert!(faces[0]["bbox"]["w"].as_i64().unwrap() > 50, "{faces}");
        let label = d.text("#faces li");
        assert!(label.starts_with("Face 1: "), "{label}");
        assert!(
            !label.contains('#') && !label.contains("smoothed"),
            "no tracker numbers or jargon: {label}"
        );
        assert!(painted_overlay(&d) > 100, "overlay is empty");
        // mirrored preview, a camera picker listing the fake camera
        let transform = d.js("return getComputedStyle(document.getElementById('video')).transform");
        assert!(
            transform.as_str().unwrap().starts_with("matrix(-1"),
            "{transform}"
        );
        let cams = d.js("return Array.from(document.querySelectorAll('#camera-select option')).map(o => o.textContent)");
        assert!(
            !cams.as_array().unwrap().is_empty() && cams[0] != "",
            "{cams}"
        );
        // the bar chart: text alternative, sharp on 2x screens, in view at 1280x800 (bug 12, 5)
        let aria = d.js("return document.getElementById('bars').getAttribute('aria-label')");
        assert!(aria.as_str().unwrap().contains('%'), "{aria}");
        let bars = d.js("const c=document.getElementById('bars');const r=c.getBoundingClientRect();return [c.width, c.clientWidth, r.bottom, window.innerHeight]");
        assert_eq!(
            bars[0].as_u64().unwrap(),
            bars[1].as_u64().unwrap() * vp.dpr as u64,
            "{bars}"
        );
        if !vp.phone() {
            assert!(
                bars[2].as_f64().unwrap() <= bars[3].as_f64().unwrap(),
                "bar chart below the fold: {bars}"
            );
        }
        layout_checks(&d, vp, "live session");
        assert!(contrast_checks(&d, "live session") > 30);
        if let Ok(p) = std::env::var("MOODLENS_SCREENSHOT") {
            if !vp.phone() {
                std::thread::sleep(Duration::from_millis(500));
                std::fs::write(&p, d.screenshot()).expect("screenshot written");
            }
        }
        // a strategy chosen during the session is used at Finish, and says so (bug 11)
        d.click("input[value='uplift']");
        assert!(d.text("#strategy-note").contains("Finish"));
        d.js("document.getElementById('finish').focus()");
        d.press(ENTER);
        d.wait_for(
            "return document.querySelectorAll('#recommendations li.movie').length",
            Duration::from_secs(60),
            "recommendations after finishing",
        );
        assert_eq!(d.focused(), "mood-title", "focus after Finish ({vp:?})");
        // nothing stale on the camera area (bug 1)
        assert_eq!(painted_overlay(&d), 0, "a box stays drawn after Finish");
        assert_eq!(d.text("#fps"), "");
        assert_eq!(
            d.js("return document.querySelectorAll('#faces li').length"),
            json!(0)
        );
        assert_eq!(d.js("return window.moodlens.live"), json!(false));
        if vp.phone() {
            let top =
                d.js("return document.getElementById('mood-title').getBoundingClientRect().top");
            let top = top.as_f64().unwrap();
            assert!(
                (-2.0..vp.height as f64 / 2.0).contains(&top),
                "results not scrolled into view: {top}"
            );
        }
        let title = d.text("#mood-title");
        assert!(title.starts_with("Session mood:"), "{title}");
        let line = d.text("#mood-line");
        assert!(
            line.contains("uplift") && line.contains("step by step"),
            "{line}"
        );
        assert!(
            !line.contains("valence") && !line.contains("arousal"),
            "{line}"
        );
        let href = d.js("return document.querySelector('#recommendations li.movie a').href");
        assert!(href.as_str().unwrap().starts_with("https://"), "{href}");
        wait_history_count(&d, 1, "the finished session in the history");
        // a strategy switch after Finish: same title, same single history entry (bugs 11, 6)
        d.click("input[value='calm']");
        d.wait_for(
            "return document.getElementById('mood-line').textContent.includes('calm:')",
            Duration::from_secs(60),
            "calm recommendations",
        );
        assert!(d.text("#mood-title").starts_with("Session mood:"));
        d.wait_for(
            "return window.moodlens.history.length === 1 && window.moodlens.history[0].strategy === 'calm'",
            Duration::from_secs(20),
            "the entry updated by the switch",
        );
        wait_history_count(&d, 1, "still one history entry");
        assert!(d.text("#history-note").starts_with("1 entry"));
        // like / dislike: text labels, distinct chosen states, undo (bug 9)
        assert_eq!(d.text("#recommendations li.movie button.like"), "Like");
        assert_eq!(
            d.text("#recommendations li.movie button.dislike"),
            "Dislike"
        );
        if vp.phone() {
            let sz = d.js("const r=document.querySelector('#recommendations li.movie button.like').getBoundingClientRect();const s=document.querySelector('#mood-buttons button').getBoundingClientRect();return [r.width, r.height, s.width, s.height]");
            for x in sz.as_array().unwrap() {
                assert!(
                    x.as_f64().unwrap() >= 44.0,
                    "touch target under 44 px: {sz}"
                );
            }
        }
        d.click("#recommendations li.movie button.like");
        d.wait_for(
            "return document.querySelector('#recommendations li.movie button.like').getAttribute('aria-pressed') === 'true'",
            Duration::from_secs(20),
            "the like to be stored",
        );
        assert_eq!(d.text("#recommendations li.movie button.like"), "Liked");
        d.click("#recommendations li.movie:nth-child(2) button.dislike");
        d.wait_for(
            "return document.querySelector('#recommendations li.movie:nth-child(2)').classList.contains('disliked')",
            Duration::from_secs(20),
            "the dislike to be stored and shown",
        );
        let colours = d.js("const l=document.querySelector('#recommendations li.movie button.like'), k=document.querySelector('#recommendations li.movie:nth-child(2) button.dislike'), u=document.querySelector('#recommendations li.movie:nth-child(3) button.like'); return [getComputedStyle(l).backgroundColor, getComputedStyle(k).backgroundColor, getComputedStyle(u).backgroundColor]");
        assert!(
            colours[0] != colours[1] && colours[0] != colours[2] && colours[1] != colours[2],
            "chosen like, chosen dislike and unchosen must look different: {colours}"
        );
        assert!(d
            .text("#recommendations li.movie:nth-child(2)")
            .contains("won't be suggested again"));
        let likes = d.text("#likes");
        assert!(
            likes.contains("Liked: ") && likes.contains("Disliked: "),
            "{likes}"
        );
        contrast_checks(&d, "after feedback");
        // undo the like from My likes
        d.click("#likes li:first-child button.undo");
        d.wait_for(
            "return document.querySelector('#recommendations li.movie button.like').getAttribute('aria-pressed') === 'false' && document.querySelectorAll('#likes li').length === 1",
            Duration::from_secs(20),
            "the like undone",
        );
        assert_eq!(
            d.js("return fetch('/api/feedback').then(r => r.json()).then(f => f.feedback.length)"),
            json!(1)
        );
        layout_checks(&d, vp, "results");
    }
}

/// `--max-sessions 1`: a second tab is told the server is busy (not "lost connection"); a face-free
/// camera shows the "no face" hint; Stop ends without saving and keeps the focus; a mood button
/// during a live session stops the camera and shows that mood.
#[test]
fn busy_server_hint_stop_and_mood_during_session() {
    let _one = BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let y4m = dir.path().join("empty.y4m");
    empty_y4m(&y4m);
    for vp in VIEWPORTS {
        let db_dir = tempfile::tempdir().unwrap();
        let srv = server_in(db_dir.path(), |a, _| a.max_sessions = 1);
        let d = Driver::start(vp, &fake_camera(&y4m));
        let url = format!("{}/", srv.url());
        d.goto(&url);
        d.click("#start-camera");
        let hint = d.wait_for(
            "return document.getElementById('hint').textContent",
            Duration::from_secs(60),
            "the no-face hint",
        );
        assert!(hint.as_str().unwrap().contains("move closer"), "{hint}");
        assert!(d.js("return window.moodlens.frames").as_u64().unwrap() >= 2);
        let first = d.call("GET", "/window", None);
        let second = d.call("POST", "/window/new", Some(json!({"type": "tab"})));
        let second = second["handle"].as_str().unwrap().to_string();
        d.call("POST", "/window", Some(json!({ "handle": second })));
        d.goto(&url);
        d.click("#start-camera");
        let msg = d.wait_for(
            "const s=document.getElementById('status');return s.className==='error'&&s.textContent",
            Duration::from_secs(30),
            "the busy message",
        );
        let msg = msg.as_str().unwrap();
        assert!(msg.contains("busy"), "{msg}");
        assert!(
            !msg.contains("Lost") && !msg.contains("unreachable"),
            "{msg}"
        );
        assert_eq!(d.js("return window.moodlens.live"), json!(false));
        layout_checks(&d, vp, "busy message");
        d.call("DELETE", "/window", None);
        d.call("POST", "/window", Some(json!({ "handle": first })));
        // Stop: nothing saved, nothing drawn, focus on Start
        d.js("document.getElementById('stop').focus()");
        d.press(ENTER);
        assert_eq!(d.js("return window.moodlens.live"), json!(false));
        assert_eq!(d.focused(), "start-camera");
        assert!(d.text("#status").contains("Nothing was saved"));
        assert_eq!(d.text("#hint"), "");
        assert_eq!(painted_overlay(&d), 0);
        wait_history_count(&d, 0, "an empty history after Stop");
        // a mood button during a session: the camera stops, that mood's picks are shown
        d.click("#start-camera");
        d.wait_for(
            "return window.moodlens.live && window.moodlens.frames >= 2",
            Duration::from_secs(60),
            "frames again",
        );
        d.click("#mood-buttons button[data-mood='happy']");
        d.wait_for(
            "return document.querySelectorAll('#recommendations li.movie').length",
            Duration::from_secs(60),
            "recommendations for the mood",
        );
        assert_eq!(d.js("return window.moodlens.live"), json!(false));
        assert_eq!(d.text("#mood-title"), "Your mood: happy");
        layout_checks(&d, vp, "after the session");
    }
}

/// A JPEG of `side_w`x`side_h` with a real face photo scaled into it.
fn big_photo(photo: &Path, w: i32, h: i32, out: &Path) {
    let img = imgcodecs::imread(photo.to_str().unwrap(), imgcodecs::IMREAD_COLOR).unwrap();
    let mut canvas = Mat::new_rows_cols_with_default(h, w, CV_8UC3, Scalar::all(120.0)).unwrap();
    let side = h * 2 / 3;
    let mut face = Mat::default();
    imgproc::resize(
        &img,
        &mut face,
        Size::new(side, side),
        0.0,
        0.0,
        imgproc::INTER_LINEAR,
    )
    .unwrap();
    let mut roi = Mat::roi_mut(
        &mut canvas,
        Rect::new((w - side) / 2, (h - side) / 2, side, side),
    )
    .unwrap();
    face.copy_to(&mut roi).unwrap();
    let params = moodlens_vision::opencv::core::Vector::<i32>::from_slice(&[
        imgcodecs::IMWRITE_JPEG_QUALITY,
        92,
    ]);
    assert!(imgcodecs::imwrite(out.to_str().unwrap(), &canvas, &params).unwrap());
}

/// Manual moods, photos and failures at both sizes: one history entry per reading (strategy
/// switches, the same mood again and the same photo again add none; the caption matches the
/// stored count); a failed upload clears the previous results; the same file twice is analysed
/// twice; a too-large file is refused before it is sent with a plain message; a 48 MP photo is
/// downscaled in the browser; photos are not stretched; history points open details; entries
/// are deleted one by one or all at once and exported; local times; the privacy line names the
/// database; favicon; keyboard reach; contrast; the charts follow the window size.
#[test]
fn manual_photo_history_in_chromium() {
    let _one = BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let photo = happy_photos()[1].canonicalize().unwrap();
    let text_file = dir.path().join("notes.txt");
    std::fs::write(&text_file, "not a picture at all\n").unwrap();
    let junk = dir.path().join("huge.jpg");
    std::fs::write(&junk, vec![b'x'; 13 * 1024 * 1024]).unwrap();
    let big = dir.path().join("big.jpg");
    big_photo(&photo, 8000, 6000, &big);
    for vp in VIEWPORTS {
        let db_dir = tempfile::tempdir().unwrap();
        let srv = server_in(db_dir.path(), |_, _| {});
        // a time zone far from UTC, to see local times
        let d = Driver::start_env(vp, &[], &[("TZ", "Pacific/Kiritimati")]);
        d.goto(&format!("{}/", srv.url()));
        d.wait_for(
            "return document.getElementById('history-note').textContent.includes('No history')",
            Duration::from_secs(20),
            "the empty history",
        );
        // favicon: declared, served
        assert_eq!(
            d.js("return fetch(document.querySelector('link[rel=icon]').href).then(r => r.status)"),
            json!(200)
        );
        assert_eq!(
            d.js("return fetch('/favicon.ico').then(r => r.status)"),
            json!(200)
        );
        // strategies explained in words on the page
        let explained = d.text("#strategy");
        assert!(
            explained.contains("step by step") && explained.contains("gentle films"),
            "{explained}"
        );
        d.click("#mood-buttons button[data-mood='sad']");
        d.wait_for(
            "return document.querySelectorAll('#recommendations li.movie').length",
            Duration::from_secs(60),
            "recommendations for a manual mood",
        );
        assert_eq!(d.text("#mood-title"), "Your mood: sad");
        let pressed = d.js("return Array.from(document.querySelectorAll('#mood-buttons button')).map(b => b.getAttribute('aria-pressed')).join()");
        assert_eq!(pressed, json!("false,false,false,false,true,false,false"));
        assert!(d.text("#mood-line").contains("comfort"));
        assert!(d.text("#recommendations li.movie .reason").contains("sad"));
        d.click("input[value='calm']");
        d.wait_for(
            "return document.getElementById('mood-line').textContent.includes('calm:')",
            Duration::from_secs(60),
            "calm recommendations",
        );
        d.click("#shuffle");
        d.click("#mood-buttons button[data-mood='sad']");
        d.wait_for(
            "return window.moodlens.history.length === 1 && window.moodlens.history[0].strategy === 'calm'",
            Duration::from_secs(20),
            "the entry updated by the switch",
        );
        wait_history_count(&d, 1, "one entry for one chosen mood (bug 6)");
        assert!(d.text("#history-note").starts_with("1 entry"));
        // a photo: boxes on the picture (not stretched), recommendations for its mood
        d.type_into("#file", photo.to_str().unwrap());
        d.wait_for(
            "return window.moodlens.analysed === 1 && document.getElementById('mood-title').textContent.startsWith('Photo mood:')",
            Duration::from_secs(60),
            "recommendations for an uploaded photo",
        );
        assert!(d.text("#faces li").contains("Face 1"));
        let img = d.js("const i=document.querySelector('#stage img.photo');return [i.clientWidth, i.naturalWidth]");
        assert!(
            img[0].as_u64().unwrap() <= img[1].as_u64().unwrap(),
            "photo stretched: {img}"
        );
        wait_history_count(&d, 2, "the photo's entry");
        assert_eq!(
            d.js("return document.getElementById('mood-buttons').querySelector('[aria-pressed=true]')"),
            Value::Null
        );
        // the same file again: analysed again, no new entry (bug 4, 6)
        d.type_into("#file", photo.to_str().unwrap());
        d.wait_for(
            "return window.moodlens.analysed === 2 && document.querySelectorAll('#recommendations li.movie').length",
            Duration::from_secs(60),
            "the same photo analysed again",
        );
        std::thread::sleep(Duration::from_millis(500));
        wait_history_count(&d, 2, "no entry for the same photo again");
        // a failed upload clears what belonged to the previous photo (bug 4)
        d.type_into("#file", text_file.to_str().unwrap());
        d.wait_for(
            "const s=document.getElementById('status');return s.className==='error'&&s.textContent",
            Duration::from_secs(30),
            "the not-a-picture message",
        );
        let after = d.js("return [document.querySelectorAll('#faces li').length, document.querySelectorAll('#recommendations li').length, !!document.querySelector('#stage img.photo'), document.getElementById('mood-title').textContent, document.getElementById('bars').getAttribute('aria-label')]");
        assert_eq!(
            after,
            json!([0, 0, false, "Suggestions", "No face analysed yet."]),
            "stale results after a failed upload"
        );
        assert_eq!(painted_overlay(&d), 0);
        // too large: refused before sending, in plain words (bug 8)
        let uploads = d.js("return window.moodlens.uploads");
        d.type_into("#file", junk.to_str().unwrap());
        let msg = d.wait_for(
            "const s=document.getElementById('status');return s.className==='error'&&s.textContent.includes('large')&&s.textContent",
            Duration::from_secs(30),
            "the too-large message",
        );
        assert_eq!(msg, json!("file too large (max 10 MB)"));
        assert_eq!(
            d.js("return window.moodlens.uploads"),
            uploads,
            "sent anyway"
        );
        // a 48 MP photo is downscaled in the browser, then analysed
        d.type_into("#file", big.to_str().unwrap());
        d.wait_for(
            "return window.moodlens.analysed === 3 && document.getElementById('mood-title').textContent.startsWith('Photo mood:')",
            Duration::from_secs(90),
            "the big photo analysed",
        );
        let w = d.js("return [window.moodlens.lastDetect.width, window.moodlens.lastDetect.height, window.moodlens.lastDetect.faces.length]");
        assert_eq!(w, json!([2560, 1920, 1]), "{w}");
        wait_history_count(&d, 3, "the big photo's entry");
        // history: local times (UTC+14 here), details of a point, delete one, export, clear
        d.click("#history-table-box summary");
        let (t, shown) = {
            let v = d.js("const h=window.moodlens.history; return [h[0].time, document.querySelector('#history-table tbody tr:last-child td').textContent, new Date().getTimezoneOffset()]");
            assert_eq!(v[2], json!(-840), "time zone not applied: {v}");
            (v[0].as_i64().unwrap(), v[1].as_str().unwrap().to_string())
        };
        let local = t + 14 * 3600;
        let (hh, mm) = (
            (local.rem_euclid(86400)) / 3600,
            (local.rem_euclid(3600)) / 60,
        );
        let (h12, ampm) = (
            if hh % 12 == 0 { 12 } else { hh % 12 },
            if hh < 12 { "AM" } else { "PM" },
        );
        let expect = format!("{h12}:{mm:02}");
        assert!(
            shown.contains(&format!(" {expect}")) && shown.contains(ampm),
            "'{shown}' is not local time ({expect} {ampm})"
        );
        assert!(!shown.contains("UTC"));
        let p = d.js("return window.moodlens.historyPoints[0]");
        d.click_at(
            "#history",
            p["x"].as_f64().unwrap(),
            p["y"].as_f64().unwrap(),
        );
        let detail = d.wait_for(
            "return document.getElementById('history-detail').innerText",
            Duration::from_secs(10),
            "the point's details",
        );
        let detail = detail.as_str().unwrap();
        assert!(
            detail.contains("sad") && detail.contains("mood button") && detail.contains("Films:"),
            "{detail}"
        );
        d.click("#history-detail button.delete-entry");
        wait_history_count(&d, 2, "one entry deleted from the chart");
        assert_eq!(
            d.js("return document.querySelectorAll('#history-table tbody tr').length"),
            json!(2)
        );
        d.click("#history-table tbody tr:first-child button.delete-entry");
        wait_history_count(&d, 1, "one entry deleted from the table");
        assert_ne!(d.focused(), "BODY", "focus lost after deleting an entry");
        let exported = d.js("return Promise.all([fetch(document.querySelector('a[href*=\"format=csv\"]').href).then(r => r.text()), fetch(document.querySelector('a[href*=\"format=json\"]').href).then(r => r.json())]).then(([c, j]) => [c.trim().split('\\n').length, j.length])");
        assert_eq!(exported, json!([2, 1]));
        // privacy: what is stored, where, how to delete it
        let privacy = d.text("#privacy");
        let db = db_dir.path().join("moodlens.db");
        assert!(
            privacy.contains(db.to_str().unwrap())
                && privacy.contains("mood history")
                && privacy.contains("likes")
                && privacy.contains("--delete"),
            "{privacy}"
        );
        layout_checks(&d, vp, "history table open");
        assert!(contrast_checks(&d, "manual page") > 30);
        // keyboard: every kind of control is reached with Tab
        d.js("document.activeElement && document.activeElement.blur(); window.scrollTo(0,0)");
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..120 {
            d.press(TAB);
            let f = d.js("const a=document.activeElement;return a.id||(a.dataset.mood?'mood':'')||(a.getAttribute('href')||'')||a.className||a.tagName");
            seen.insert(f.as_str().unwrap_or("").to_string());
        }
        for want in [
            "start-camera",
            "finish",
            "stop",
            "camera-select",
            "mood",
            "file",
            "show-landmarks",
            "shuffle",
            "clear-history",
            "like",
            "dislike",
            "delete-entry",
        ] {
            assert!(seen.contains(want), "{want} not reached with Tab: {seen:?}");
        }
        assert!(seen.iter().any(|s| s.contains("format=csv")), "{seen:?}");
        // clear all, with a confirmation step
        d.click("#clear-history");
        d.click("#clear-yes");
        wait_history_count(&d, 0, "the cleared history");
        assert!(d.text("#history-note").contains("No history"));
        assert_eq!(d.focused(), "clear-history");
        // the charts follow the window size (bug 5)
        let before = d.js("return document.getElementById('bars').width");
        let narrower = vp.width - 30;
        d.call(
            "POST",
            "/goog/cdp/execute",
            Some(json!({"cmd": "Emulation.setDeviceMetricsOverride", "params": {
                "width": narrower, "height": vp.height, "deviceScaleFactor": vp.dpr, "mobile": vp.phone()}})),
        );
        d.wait_for(
            &format!("const c=document.getElementById('bars');return c.width !== {before} && c.width === Math.round(c.clientWidth * window.devicePixelRatio)"),
            Duration::from_secs(10),
            "the bar chart redrawn at the new size",
        );
    }
}

/// The server stopped: the page says it is unreachable; restarted on the same port: the page
/// reconnects by itself and the error clears.
#[test]
fn reconnects_after_a_server_restart() {
    let _one = BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    for vp in VIEWPORTS {
        let db_dir = tempfile::tempdir().unwrap();
        let srv = server_in(db_dir.path(), |_, _| {});
        let port = srv.addr.port();
        let d = Driver::start(vp, &[]);
        d.goto(&format!("{}/", srv.url()));
        d.wait_for(
            "return document.getElementById('history-note').textContent.includes('No history')",
            Duration::from_secs(20),
            "the page",
        );
        drop(srv);
        let msg = d.wait_for(
            "const s=document.getElementById('status');return s.className==='error'&&s.textContent",
            Duration::from_secs(30),
            "an unreachable-server message",
        );
        assert!(msg.as_str().unwrap().contains("unreachable"), "{msg}");
        layout_checks(&d, vp, "server away");
        let srv = server_in(db_dir.path(), |a, _| a.port = port);
        d.wait_for(
            "return document.getElementById('status').textContent.startsWith('Reconnected')",
            Duration::from_secs(20),
            "the reconnection",
        );
        d.wait_for(
            "return document.getElementById('status').textContent === ''",
            Duration::from_secs(20),
            "the status to clear",
        );
        // and it works again
        d.click("#mood-buttons button[data-mood='happy']");
        d.wait_for(
            "return document.querySelectorAll('#recommendations li.movie').length",
            Duration::from_secs(60),
            "recommendations after reconnecting",
        );
        drop(srv);
    }
}

//! End-to-end tests in Debian's Chromium (headless) driven through chromedriver (W3C WebDriver,
//! spoken here over plain HTTP): a fake camera plays a y4m video made at test time from a real
//! face photo of the shared data. Both tests FAIL (not skip) without chromium/chromedriver
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
    fn start(chrome_args: &[String]) -> Driver {
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
            "--window-size=1280,1100".into(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        args.extend_from_slice(chrome_args);
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium, "args": args}
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
                let status = self.text("#status");
                panic!("timed out waiting for {what} (page status: '{status}')");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
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

#[test]
fn camera_session_in_chromium() {
    let _one = BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let srv = server_in(dir.path(), |_, _| {});
    let y4m = dir.path().join("face.y4m");
    face_y4m(&happy_photos()[1], &y4m);
    let d = Driver::start(&[
        "--use-fake-ui-for-media-stream".into(),
        "--use-fake-device-for-media-stream".into(),
        format!("--use-file-for-fake-video-capture={}", y4m.display()),
    ]);
    d.goto(&format!("{}/", srv.url()));
    assert_eq!(d.js("return document.title"), json!("moodlens"));
    d.click("#start-camera");
    let n = d.wait_for(
        "return window.moodlens.framesWithFaces >= 4 && window.moodlens.framesWithFaces",
        Duration::from_secs(90),
        "face boxes from the camera",
    );
    assert!(n.as_u64().unwrap() >= 4);
    let faces = d.js("return window.moodlens.lastFaces");
    let f = &faces[0];
    assert!(f["bbox"]["w"].as_i64().unwrap() > 50, "{faces}");
    let label = d.text("#faces li");
    let emotions = [
        "angry", "disgust", "fear", "happy", "sad", "surprise", "neutral",
    ];
    assert!(
        emotions.iter().any(|e| label.contains(e)),
        "no emotion label in '{label}'"
    );
    // the overlay canvas has the box drawn (non-transparent pixels)
    let painted = d.js(
        "const c=document.getElementById('overlay');const d=c.getContext('2d').getImageData(0,0,c.width,c.height).data;let n=0;for(let i=3;i<d.length;i+=4){if(d[i])n++;}return n;",
    );
    assert!(painted.as_u64().unwrap() > 100, "overlay is empty");
    if let Ok(p) = std::env::var("MOODLENS_SCREENSHOT") {
        // let the chart and labels settle, then keep the page in use
        std::thread::sleep(Duration::from_millis(500));
        std::fs::write(&p, d.screenshot()).expect("screenshot written");
    }
    d.click("input[value='uplift']");
    d.click("#finish");
    d.wait_for(
        "return document.querySelectorAll('#recommendations li.movie').length",
        Duration::from_secs(60),
        "recommendations after finishing",
    );
    let title = d.text("#mood-title");
    assert!(title.starts_with("Session mood:"), "{title}");
    let line = d.text("#mood-line");
    assert!(line.contains("uplift"), "{line}");
    assert!(
        d.js("return document.querySelectorAll('#recommendations li.track').length")
            .as_u64()
            .unwrap()
            > 0
    );
    let href = d.js("return document.querySelector('#recommendations li.movie a').href");
    assert!(href.as_str().unwrap().starts_with("https://"), "{href}");
    // like the first movie: stored
    d.click("#recommendations li.movie button.like");
    d.wait_for(
        "return document.getElementById('status').textContent.startsWith('Liked')",
        Duration::from_secs(20),
        "the like to be stored",
    );
    d.wait_for(
        "return document.getElementById('history-note').textContent.includes('1 session')",
        Duration::from_secs(20),
        "the history chart",
    );
    assert_eq!(d.js("return window.moodlens.live"), json!(false));
}

#[test]
fn manual_mood_in_chromium() {
    let _one = BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let srv = server_in(dir.path(), |_, _| {});
    let d = Driver::start(&[]);
    d.goto(&format!("{}/", srv.url()));
    d.wait_for(
        "return document.getElementById('history-note').textContent.includes('No sessions')",
        Duration::from_secs(20),
        "the empty history",
    );
    d.click("#mood-buttons button[data-mood='sad']");
    d.wait_for(
        "return document.querySelectorAll('#recommendations li.movie').length",
        Duration::from_secs(60),
        "recommendations for a manual mood",
    );
    assert_eq!(d.text("#mood-title"), "Your mood: sad");
    // the default strategy follows the mood (sad → comfort), and every item says why it is there
    assert!(d.text("#mood-line").contains("comfort"));
    assert!(d.text("#recommendations li.movie .reason").contains("sad"));
    // switching the strategy asks again
    d.click("input[value='calm']");
    d.wait_for(
        "return document.getElementById('mood-line').textContent.includes('calm')",
        Duration::from_secs(60),
        "calm recommendations",
    );
    d.wait_for(
        "return document.getElementById('history-note').textContent.includes('2 session')",
        Duration::from_secs(20),
        "two sessions in the history",
    );
    // a photo through the upload field: boxes on the picture, then recommendations for its mood
    let photo = happy_photos()[1].canonicalize().unwrap();
    d.type_into("#file", photo.to_str().unwrap());
    d.wait_for(
        "return window.moodlens.lastMood && window.moodlens.lastMood.source === 'image' && document.getElementById('mood-title').textContent.startsWith('Mood:')",
        Duration::from_secs(60),
        "recommendations for an uploaded photo",
    );
    assert!(d.text("#faces li").contains("Face 1"));
    // the server going away is reported
    drop(srv);
    d.click("#mood-buttons button[data-mood='happy']");
    let msg = d.wait_for(
        "const s=document.getElementById('status');return s.className==='error'&&s.textContent",
        Duration::from_secs(30),
        "an unreachable-server message",
    );
    assert!(msg.as_str().unwrap().contains("unreachable"), "{msg}");
}

// browser.js - the portal in Debian's chromium, driven by playwright-core:
// every flow of issue 14 as a user does it, with screenshots.
//
// Env: PORTAL (https://127.0.0.1:PORT), HELPER (a script: "apppw USER PW",
// "validate TOKEN USER", "totp SECRET [OFFSET]"), SHOTS (folder for the
// PNGs; empty: none).  Prints "ok - ..." / "not ok - ..." lines and, last,
// "browser: N passed, M failed"; exit status 1 on any failure.
"use strict";
const { chromium } = require("playwright-core");
const { execFileSync } = require("child_process");
const path = require("path");

const BASE = process.env.PORTAL;
const HELPER = process.env.HELPER;
const SHOTS = process.env.SHOTS || "";
let pass = 0, fail = 0;
const ok = (d) => { pass++; console.log("ok - " + d); };
const bad = (d) => { fail++; console.log("not ok - " + d); };
const check = (d, c) => (c ? ok(d) : bad(d));
const helper = (...a) => {
  try { return { rc: 0, out: execFileSync("sh", [HELPER, ...a], { encoding: "utf8" }).trim() }; }
  catch (e) { return { rc: e.status || 1, out: String(e.stdout || "").trim() }; }
};
async function shot(page, name) {
  if (SHOTS) await page.screenshot({ path: path.join(SHOTS, name), fullPage: true });
}

// run an action that navigates, and wait for the new page to load
async function nav(page, action) {
  await Promise.all([page.waitForNavigation({ waitUntil: "load" }), action()]);
}

async function login(page, user, pw) {
  await page.goto(BASE + "/my/");
  await page.getByLabel("User name").fill(user);
  await page.getByLabel("Password").fill(pw);
  await nav(page, () => page.getByRole("button", { name: "Log in" }).click());
}

async function main() {
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium", headless: true,
    args: process.getuid && process.getuid() === 0 ? ["--no-sandbox"] : [],
  });
  try {
    const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
    const page = await ctx.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    page.on("console", (m) => { if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) errors.push(m.text()); });

    // --- log in with a password
    await page.goto(BASE + "/my/");
    check("the login page has labelled fields", (await page.getByLabel("User name").count()) === 1 &&
      (await page.getByLabel("Password").count()) === 1);
    await shot(page, "login.png");
    // keyboard alone: type, Tab, type, Enter
    await page.getByLabel("User name").focus();
    await page.keyboard.type("alice");
    await page.keyboard.press("Tab");
    await page.keyboard.type("Alice-pw-1");
    await nav(page, () => page.keyboard.press("Enter"));
    check("password login (keyboard only) shows my app passwords",
      (await page.locator("h2#h-tokens").count()) === 1);
    const cookies = await ctx.cookies();
    const sc = cookies.find((c) => c.name === "__Host-tokenauth");
    check("session cookie is __Host-, Secure, HttpOnly, SameSite=Strict, Path=/",
      sc && sc.secure && sc.httpOnly && sc.sameSite === "Strict" && sc.path === "/" && /^[0-9a-f]{64}$/.test(sc.value));

    // --- create an app password, read it once
    await page.getByLabel("Label").fill("laptop mail");
    await page.getByLabel("Expires after (days)").fill("30");
    await page.getByLabel("Scope (optional)").fill("app=mail");
    await nav(page, () => page.getByRole("button", { name: "Create" }).click());
    const token = (await page.locator("#new-token").textContent() || "").trim();
    check("the new app password is shown", /^tka_[A-Za-z0-9]{40,}$/.test(token));
    check("the copy button is there (script ran)", await page.getByRole("button", { name: "Copy" }).isVisible());
    await shot(page, "created.png");
    await nav(page, () => page.getByRole("link", { name: "Done" }).click());
    check("the app password is listed with its label",
      (await page.locator("#tokens td.label", { hasText: "laptop mail" }).count()) === 1);
    check("the app password is never shown again", !(await page.content()).includes(token));

    // --- use it: a PAM login (pamtester) and the seed-000 validate endpoint (curl)
    check("the app password logs in through PAM", helper("apppw", "alice", token).rc === 0);
    check("the app password validates (seed 000, retCode 0)",
      helper("validate", token, "alice").out.includes('"retCode":0'));
    await page.reload();
    check("its last use is recorded", !(await page.locator("#tokens tr", { hasText: "laptop mail" })
      .textContent()).includes("never"));
    await shot(page, "main-desktop.png");
    await page.setViewportSize({ width: 390, height: 844 });
    await shot(page, "main-mobile.png");
    await page.setViewportSize({ width: 1280, height: 800 });

    // --- revoke it in the page, and the login fails
    await nav(page, () => page.getByRole("button", { name: "Revoke laptop mail" }).click());
    check("revoked: no longer listed", (await page.locator("#tokens td.label", { hasText: "laptop mail" }).count()) === 0);
    check("revoked: the PAM login fails", helper("apppw", "alice", token).rc !== 0);
    check("revoked: validate refuses it (retCode 20003)", helper("validate", token, "alice").out.includes('"retCode":20003'));

    // --- enrol TOTP by reading the secret from the page, confirm with oathtool
    await nav(page, () => page.getByRole("link", { name: "Set up an authenticator app" }).click());
    check("the QR code is an inline SVG", (await page.locator(".qr svg path").count()) === 1);
    const uri = await page.locator("#totp-uri").getAttribute("href");
    check("an otpauth:// link is offered", /^otpauth:\/\/totp\//.test(uri || ""));
    await shot(page, "totp.png");
    let secret = (await page.locator("#totp-secret").textContent()).trim();
    await page.getByLabel("Code shown by the app").fill("000000" === helper("totp", secret).out ? "111111" : "000000");
    await nav(page, () => page.getByRole("button", { name: "Turn on" }).click());
    check("a wrong code does not turn it on", (await page.locator("p.error").count()) === 1);
    await page.getByLabel("Code shown by the app").fill(helper("totp", secret).out);
    await nav(page, () => page.getByRole("button", { name: "Turn on" }).click());
    check("a right code turns it on", (await page.locator("#totp-state").textContent()).includes("is set up"));

    // --- remove it only with a valid current code
    await page.getByLabel("Current code (to remove it)").fill("123456" === helper("totp", secret, "30").out ? "654321" : "123456");
    await nav(page, () => page.getByRole("button", { name: "Remove authenticator" }).click());
    check("a wrong code does not remove it (403)", (await page.locator("p.error").count()) === 1);
    await page.goto(BASE + "/my/");
    await page.getByLabel("Current code (to remove it)").fill(helper("totp", secret, "30").out);
    await nav(page, () => page.getByRole("button", { name: "Remove authenticator" }).click());
    check("a current code removes it", (await page.locator("#totp-state").textContent()).includes("No authenticator"));

    // --- enrol again, then log in with password + code (two steps)
    await nav(page, () => page.getByRole("link", { name: "Set up an authenticator app" }).click());
    secret = (await page.locator("#totp-secret").textContent()).trim();
    await page.getByLabel("Code shown by the app").fill(helper("totp", secret).out);
    await nav(page, () => page.getByRole("button", { name: "Turn on" }).click());
    check("enrolled again", (await page.locator("#totp-state").textContent()).includes("is set up"));
    const before = (await ctx.cookies()).find((c) => c.name === "__Host-tokenauth").value;
    await nav(page, () => page.getByRole("button", { name: "Log out" }).click());
    check("logout shows the login page", (await page.getByLabel("User name").count()) === 1);
    await login(page, "alice", "Alice-pw-1");
    check("with TOTP on, the password step asks for a code",
      (await page.getByLabel("Code from your authenticator app").count()) === 1);
    await shot(page, "code.png");
    await page.getByLabel("Code from your authenticator app").fill(helper("totp", secret, "30").out);
    await nav(page, () => page.getByRole("button", { name: "Log in" }).click());
    check("password + code logs in", (await page.locator("h2#h-tokens").count()) === 1);

    // --- the cookie from before the logout no longer works
    const ctx2 = await browser.newContext({ ignoreHTTPSErrors: true });
    await ctx2.addCookies([{ name: "__Host-tokenauth", value: before, url: BASE + "/", secure: true, httpOnly: true, sameSite: "Strict" }]);
    const p2 = await ctx2.newPage();
    await p2.goto(BASE + "/my/");
    check("the logged-out cookie gets the login page", (await p2.getByLabel("User name").count()) === 1);
    await ctx2.close();
    check("no script errors on any page: " + errors.join("; "), errors.length === 0);
  } finally {
    await browser.close();
  }
}

main().catch((e) => { bad("browser run: " + e); }).finally(() => {
  console.log(`browser: ${pass} passed, ${fail} failed`);
  process.exit(fail === 0 ? 0 : 1);
});

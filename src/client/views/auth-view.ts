import type { AuthResponse } from "../../protocol/models";
import { type Api, ApiError } from "../api";
import { h, onClick, svgIcon } from "../dom";

type Mode = "signin" | "signup";

interface Field {
  wrap: HTMLElement;
  input: HTMLInputElement;
  error: HTMLElement;
}

function field(name: string, label: string, props: Record<string, string | boolean>): Field {
  const id = `auth-${name}`;
  const input = h("input", { id, name, class: "input", "aria-describedby": `${id}-error`, ...props });
  const error = h("span", { id: `${id}-error`, class: "field-error" });
  const wrap = h("div", { class: "field" }, h("label", { for: id }, label), input, error);
  return { wrap, input, error };
}

function showError(f: Field, message: string): void {
  f.error.textContent = message;
  f.input.setAttribute("aria-invalid", "true");
}

/** Sign in and create an account, on one card; the server's field errors show under each field. */
export function authView(api: Api, onSignedIn: (auth: AuthResponse) => void): HTMLElement {
  let mode: Mode = "signin";
  const first = field("firstName", "First name", {
    autocomplete: "given-name",
    required: true,
    maxlength: "100",
  });
  const last = field("lastName", "Last name", {
    autocomplete: "family-name",
    required: true,
    maxlength: "100",
  });
  const email = field("email", "Email", {
    type: "email",
    autocomplete: "email",
    required: true,
    maxlength: "254",
  });
  const password = field("password", "Password", {
    type: "password",
    autocomplete: "current-password",
    required: true,
    minlength: "8",
  });
  const fields = { firstName: first, lastName: last, email, password };
  const names = h("div", { class: "field-pair" }, first.wrap, last.wrap);
  const formError = h("p", { class: "form-error", role: "alert" });
  const submit = h("button", { type: "submit", class: "primary wide" });
  const signinTab = h("button", { type: "button", role: "tab", class: "tab" }, "Sign in");
  const signupTab = h("button", { type: "button", role: "tab", class: "tab" }, "Create account");
  const form = h(
    "form",
    { class: "auth-form", novalidate: true },
    names,
    email.wrap,
    password.wrap,
    formError,
    submit,
  );

  const setMode = (next: Mode) => {
    mode = next;
    const signup = mode === "signup";
    names.hidden = !signup;
    first.input.required = signup;
    last.input.required = signup;
    password.input.autocomplete = signup ? "new-password" : "current-password";
    submit.textContent = signup ? "Create account" : "Sign in";
    signinTab.setAttribute("aria-selected", String(!signup));
    signupTab.setAttribute("aria-selected", String(signup));
    form.setAttribute("aria-label", signup ? "Create account" : "Sign in");
    clearErrors();
  };
  const clearErrors = () => {
    formError.textContent = "";
    for (const f of Object.values(fields)) {
      f.error.textContent = "";
      f.input.removeAttribute("aria-invalid");
    }
  };
  onClick(signinTab, () => setMode("signin"));
  onClick(signupTab, () => setMode("signup"));

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    clearErrors();
    const signup = mode === "signup";
    // The browser's own checks first, shown the same way as the server's.
    let invalid: Field | null = null;
    for (const f of signup ? [first, last, email, password] : [email, password]) {
      if (!f.input.checkValidity()) {
        showError(f, f.input.validationMessage);
        invalid ??= f;
      }
    }
    if (invalid) {
      invalid.input.focus();
      return;
    }
    submit.disabled = true;
    form.setAttribute("aria-busy", "true");
    const credentials = { email: email.input.value.trim(), password: password.input.value };
    const request = signup
      ? api.register({
          ...credentials,
          firstName: first.input.value.trim(),
          lastName: last.input.value.trim(),
        })
      : api.login(credentials);
    request
      .then(onSignedIn, (err: unknown) => {
        if (err instanceof ApiError) {
          for (const [path, f] of Object.entries(fields)) {
            const message = err.detailFor(path);
            if (message) showError(f, message);
          }
          formError.textContent =
            err.code === "email_taken"
              ? "An account with this email already exists. Sign in instead?"
              : err.message;
        } else {
          formError.textContent = "Something went wrong. Please try again.";
        }
      })
      .finally(() => {
        submit.disabled = false;
        form.removeAttribute("aria-busy");
      });
  });

  setMode(location.hash === "#/signup" ? "signup" : "signin");
  return h(
    "main",
    { class: "auth" },
    h(
      "div",
      { class: "auth-card" },
      h(
        "div",
        { class: "brand" },
        h("span", { class: "brand-mark" }, svgIcon("chat")),
        h("h1", null, "Edge chat"),
      ),
      h("p", { class: "tagline" }, "Messages that arrive the moment they are sent."),
      h(
        "div",
        { class: "tabs", role: "tablist", "aria-label": "Sign in or create an account" },
        signinTab,
        signupTab,
      ),
      form,
    ),
  );
}

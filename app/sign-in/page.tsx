import { SignInForm } from "@/components/auth/sign-in-form";

export const metadata = { title: "Sign in · AFS Training Dashboard" };

export default function SignInPage() {
  return (
    <main className="mx-auto mt-24 max-w-sm rounded-lg border border-line bg-card p-6">
      <h1 className="text-xl font-semibold">Sign in</h1>
      <p className="mt-2 text-sm text-muted">This dashboard asks for a viewer or admin token.</p>
      <SignInForm />
    </main>
  );
}

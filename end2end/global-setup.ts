import { addUser } from "./tests/support";

// Accounts every test may use (the server may have created `admin` itself on first start). Each test makes its own packages and changes.
export default async function globalSetup() {
  addUser("admin", "admin", "admin-password");
  addUser("reviewer", "reviewer", "reviewer-password");
  addUser("viewer", "viewer", "viewer-password");
}

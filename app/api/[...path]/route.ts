import { route } from "@/lib/api/route";
import { ApiError } from "@/lib/errors";

// Any other /api path: a JSON 404 rather than the HTML page scripts cannot read.
const notFound = route(async () => {
  throw new ApiError("not_found", "No such endpoint");
});
export { notFound as GET, notFound as POST, notFound as PUT, notFound as PATCH, notFound as DELETE };

/** Raises a client error on purpose: the route that exercises the error alarm and rollback. */
export default function Boom(): never {
  throw new Error('Boom: an intentional client error for rollback testing');
}

// aws-local-stepfunctions 3 calls Promise.withResolvers, which Node 22 has
// and Node 20 lacks. Import this module before the library.
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers() {
    let resolve;
    let reject;
    const promise = new this((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}
